// The reader's journey once more on a French build (`locale: fr-FR` in site.yaml), in Chromium:
// from the blog to a free lesson, sign up, buy on the stand-in's French checkout page, mark the
// lesson complete, read a paid lesson, ask for a new password; axe-core finds no serious or
// critical violation on any page of the way.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeViolations, newJourney, runAxe } from '../support/browser.ts';
import { buildSite, FIXTURE_COURSES, ROOT } from '../support/build.ts';
import { SIGN_UP_WORDS, signUpInBrowser } from '../support/sign-up.ts';
import { COURSE_PATH, createSuite, PAID_PATH, PAID_TEXT, PASSWORD, PREVIEW_PATH } from './suite.ts';

const suite = createSuite();
let coursesDir: string;
let dist: string;

beforeAll(async () => {
  coursesDir = mkdtempSync(join(ROOT, '.test-dist', 'courses-fr-browser-'));
  cpSync(FIXTURE_COURSES, coursesDir, { recursive: true });
  const settings = join(coursesDir, 'site.yaml');
  writeFileSync(settings, readFileSync(settings, 'utf8').replace(/^locale: .*$/m, 'locale: fr-FR'));
  const build = await buildSite({ coursesDir });
  if (build.code !== 0) throw new Error(build.output);
  dist = build.outDir;
  await suite.start(dist);
}, 240_000);

afterAll(async () => {
  await suite.stop();
  if (coursesDir) rmSync(coursesDir, { recursive: true, force: true });
  if (dist) rmSync(dist, { recursive: true, force: true });
});

const blocking: string[] = [];
async function axe(page: Page, name: string) {
  expect(await page.getAttribute('html', 'lang'), name).toMatch(/^fr/);
  const serious = (await runAxe(page)).filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
  if (serious.length) blocking.push(`${name}:\n${describeViolations(serious)}`);
}

test('a French reader signs up, buys, reads and resets their password, in French, axe clean', async () => {
  const { site } = suite;
  const email = 'lectrice@example.com';
  const { context, page } = await newJourney(suite.browser);
  try {
    await page.goto(suite.url('/'));
    await axe(page, 'accueil');
    await page.getByRole('link', { name: 'Python Fundamentals' }).click();
    await page.waitForURL(suite.url(COURSE_PATH));
    await axe(page, 'page du cours');
    await page.getByRole('link', { name: 'Lire une leçon gratuite', exact: true }).click();
    await page.waitForURL(suite.url(PREVIEW_PATH));
    await axe(page, 'leçon gratuite');

    await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: 'Se connecter' }).click();
    await page.waitForURL((url) => url.pathname === '/login');
    await axe(page, 'connexion');
    await page.getByRole('link', { name: 'Créez un compte' }).click();
    await page.waitForURL((url) => url.pathname === '/signup');
    await axe(page, 'création de compte');
    await signUpInBrowser(page, site.sink, { email, password: PASSWORD }, SIGN_UP_WORDS.fr);
    await page.waitForURL(suite.url(PREVIEW_PATH));
    await page.getByRole('navigation', { name: 'Site' }).getByRole('link', { name: email }).waitFor();

    await page.getByRole('button', { name: /^Acheter le cours pour 49/ }).click();
    await page.waitForURL(`${site.standin.url}/c/pay/**`);
    await axe(page, 'paiement (stand-in)');
    await page.getByRole('button', { name: /^Payer 49,00/ }).click();
    await page.waitForURL((url) => url.pathname === '/checkout/success');
    await page.getByText(`Votre reçu part vers ${email}.`).waitFor();
    await axe(page, 'confirmation d’achat');
    await page.getByRole('link', { name: 'Commencer le cours' }).click();
    await page.waitForURL(suite.url(PREVIEW_PATH));
    await page.getByRole('button', { name: 'Terminer et continuer' }).click();
    await page.waitForURL((url) => url.pathname !== PREVIEW_PATH && url.pathname.startsWith('/courses/'));

    await page.goto(suite.url(PAID_PATH));
    await page.getByText(PAID_TEXT).waitFor();
    // The copy buttons of the code blocks speak the site's language too.
    await page.getByRole('button', { name: 'Copier le code' }).first().waitFor();
    await axe(page, 'leçon payante');
    await page.getByRole('button', { name: 'Terminer et continuer' }).click();
    await page.waitForURL((url) => url.pathname !== PAID_PATH);
    await page.goto(suite.url(PAID_PATH));
    await page.getByRole('button', { name: 'Terminée ✓ (annuler)' }).waitFor();
    expect(
      await page
        .getByRole('navigation', { name: 'Leçons de ce cours' })
        .locator('a[data-done]')
        .first()
        .evaluate((link) => getComputedStyle(link, '::after').content),
    ).toBe('"✓" / "terminée"');

    await page.goto(suite.url('/account'));
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Votre compte');
    await page.getByText('2 leçons terminées sur 10').waitFor();
    await axe(page, 'compte');
    await page.getByRole('button', { name: 'Se déconnecter', exact: true }).click();
    await page.waitForURL((url) => url.searchParams.get('notice') === 'signed-out');
    await page.getByText('Vous êtes déconnecté.').waitFor();

    await page.goto(suite.url('/reset'));
    await axe(page, 'mot de passe oublié');
    const sent = site.sink.messages.length;
    await page.getByLabel('Adresse e-mail').fill(email);
    await page.getByRole('button', { name: 'Envoyer le lien' }).click();
    await page.getByText(/nous lui avons envoyé un lien pour choisir un nouveau mot de passe/).waitFor();
    const mail = await site.sink.waitFor(email, { after: sent });
    expect(mail.subject).toMatch(/^Réinitialisez votre mot de passe/);
    await page.goto(/https?:\/\/\S+\/reset\?token=\S+/.exec(mail.text)![0]);
    await axe(page, 'nouveau mot de passe');
    await page.getByLabel('Nouveau mot de passe').fill('une autre phrase de passe');
    await page.getByRole('button', { name: 'Enregistrer le nouveau mot de passe' }).click();
    await page.getByText('Votre nouveau mot de passe est enregistré et vous êtes connecté.').waitFor();
  } finally {
    await context.close();
  }
  expect(blocking.join('\n')).toBe('');
});
