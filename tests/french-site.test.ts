// The demo site with `locale: fr-FR` in site.yaml, built and served: its pages, the pages the
// server renders and the emails a buyer gets are in French, with no sentence of the English
// catalogue left; prices and Stripe Checkout follow the locale.
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SafeHtml } from '../src/server/http/html.ts';
import { en } from '../src/server/i18n/en.ts';
import { linkIn } from './support/accounts-env.ts';
import { buildSite, FIXTURE_COURSES, ROOT } from './support/build.ts';
import { signedUpVisitor, sitePath, startPaymentsSite, type PaymentsSite } from './support/payments.ts';
import { createVisitor } from './support/visitor.ts';

const HOLE = '\u0001';

/** The fixed wording of every English text: the runs of three words or more between its values and tags. */
function englishSentences(): string[] {
  const out = new Set<string>();
  const walk = (node: unknown): void => {
    let text: string | null = null;
    if (typeof node === 'string') text = node;
    else if (node instanceof SafeHtml) text = node.value;
    else if (typeof node === 'function') {
      const value = (node as (...args: unknown[]) => unknown)(...Array.from({ length: node.length }, () => HOLE));
      text = value instanceof SafeHtml ? value.value : String(value);
    } else if (node && typeof node === 'object') Object.values(node).forEach(walk);
    if (text === null) return;
    // Commands in <code> are the same in every language.
    for (const piece of text.replace(/<code>[^<]*<\/code>/g, HOLE).split(new RegExp(`${HOLE}|<[^>]*>`))) {
      const words = piece.trim();
      if (words.split(/\s+/).filter((word) => /[a-z]/i.test(word)).length >= 3) out.add(words);
    }
  };
  walk(en);
  return [...out];
}

function htmlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? htmlFiles(path) : path.endsWith('.html') ? [path] : [];
  });
}

/** What a reader sees of a page: its text and its labels, without the courses' own (English) Markdown. */
function visibleText(html: string): string {
  return html
    .replace(/<article class="prose"[\s\S]*?<\/article>/g, ' ')
    .replace(/<div set:html[\s\S]*?<\/div>/g, ' ')
    .replace(/<(script|style)[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');
}

function englishIn(text: string, sentences: string[]): string[] {
  return sentences.filter((sentence) => text.includes(sentence));
}

let coursesDir: string;
let dist: string;
let site: PaymentsSite;
const sentences = englishSentences();

beforeAll(async () => {
  coursesDir = mkdtempSync(join(ROOT, '.test-dist', 'courses-fr-'));
  cpSync(FIXTURE_COURSES, coursesDir, { recursive: true });
  const settings = join(coursesDir, 'site.yaml');
  writeFileSync(
    settings,
    readFileSync(settings, 'utf8')
      .replace(/^locale: .*$/m, 'locale: fr-FR')
      .replace(/^currency: .*$/m, 'currency: EUR'),
  );
  const build = await buildSite({ coursesDir });
  if (build.code !== 0) throw new Error(build.output);
  dist = build.outDir;
  site = await startPaymentsSite(dist);
}, 240_000);

afterAll(async () => {
  await site?.stop();
  if (coursesDir) rmSync(coursesDir, { recursive: true, force: true });
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe('a site whose site.yaml says locale: fr-FR', () => {
  test('the scan finds English where it is (the check can fail)', () => {
    expect(englishIn(visibleText('<p>Enter your password.</p>'), sentences)).toEqual(['Enter your password.']);
    expect(sentences.length).toBeGreaterThan(150);
  });

  test('every built page is French: its lang, its labels, no sentence of the English catalogue', () => {
    const pages = [...htmlFiles(join(dist, 'client')), ...htmlFiles(join(dist, 'private'))];
    expect(pages.length).toBeGreaterThan(10);
    const found: string[] = [];
    for (const page of pages) {
      const html = readFileSync(page, 'utf8');
      expect(html, page).toMatch(/<html lang="fr-FR"/);
      for (const sentence of englishIn(visibleText(html), sentences)) found.push(`${page.slice(dist.length)}: ${sentence}`);
    }
    expect(found).toEqual([]);
    const home = readFileSync(join(dist, 'client', 'index.html'), 'utf8');
    expect(home).toContain('Aller au contenu');
    // 79 € in French, whatever the currency's home: a number, a narrow no-break space, the sign.
    expect(home).toMatch(/\d+(,\d\d)?[\u00a0\u202f]€/);
    expect(home).toContain('Intermédiaire');
  });

  test('the pages the server renders, its error pages and its emails are French', async () => {
    const visitor = createVisitor(site.server.url);
    const pages: string[] = [];
    for (const path of [
      '/login',
      '/signup',
      '/reset',
      '/reset?token=expired',
      '/verify?token=expired',
      '/login?error=invalid-credentials',
      '/reset?notice=reset-sent',
      '/no-such-page/',
      // A paid lesson, signed out: its offer.
      '/courses/python-fundamentals/control-flow/',
    ]) {
      const response = await visitor.get(path);
      if (path.startsWith('/courses/')) expect(response.status).toBe(403);
      pages.push(`${path}\n${visibleText(await response.text())}`);
    }
    const refused = await visitor.post('/api/checkout', { course: 'no such course' });
    expect(refused.status).toBe(400);
    pages.push(visibleText(await refused.text()));

    const email = 'acheteuse@example.com';
    const before = site.sink.messages.length;
    const member = await signedUpVisitor(site, email);
    const confirm = await site.sink.waitFor(email, { after: before });
    expect(confirm.subject).toMatch(/^Confirmez votre adresse e-mail/);
    pages.push((await (await member.get('/account')).text()).replace(/[\s\S]*<main/, ''));

    const checkout = await member.post('/api/checkout', { course: 'python-fundamentals' });
    expect(checkout.status).toBe(303);
    const sessionId = checkout.headers.get('location')!.split('/').pop()!;
    const session = await site.stripe.checkout.sessions.retrieve(sessionId);
    expect(session.locale).toBe('fr');
    const hosted = await (await fetch(checkout.headers.get('location')!)).text();
    expect(hosted).toContain('<html lang="fr"');
    expect(hosted).toContain('Finalisez votre achat');

    const afterConfirm = site.sink.messages.length;
    const { redirect } = await site.control(`/_standin/checkout/${sessionId}/pay`, {});
    const confirmation = await (await member.get(sitePath(redirect))).text();
    expect(confirmation).toContain('Commencer le cours');
    pages.push(confirmation.replace(/[\s\S]*<main/, ''));
    const purchase = await site.sink.waitFor(email, { after: afterConfirm });
    // From MAIL_FROM, the site's name in the subject, the order number and the amount as the site writes it.
    expect(purchase.subject).toMatch(/^Votre cours «\u202f.+\u202f» sur Practical Python Courses est prêt$/);
    expect(/^From: (.*)$/im.exec(purchase.raw)?.[1]?.trim()).toBe('Courses <courses@courses.test>');
    const { rows: bought } = await site.store.client.execute({
      sql: 'SELECT p.id FROM purchases p JOIN users u ON u.id = p.user_id WHERE u.email = ?',
      args: [email],
    });
    const number = `courses.test-${bought[0]!.id}`;
    const amount = /(\d+(?:,\d\d)?[\u00a0\u202f]\$US)/.exec(await (await member.get('/courses/python-fundamentals/')).text())?.[1];
    expect(amount).toBeTruthy();
    expect(purchase.text).toContain(`Numéro de commande\u202f: ${number}`);
    expect(purchase.text).toContain(`Montant payé\u202f: ${amount}`);
    expect(purchase.html).toMatch(new RegExp(`Numéro de commande</th><td[^>]*>${number}</td>`));
    expect(purchase.html).toContain(`>${amount}</td>`);
    expect(purchase.html).toContain('<html lang="fr-FR">');

    const resetBefore = site.sink.messages.length;
    await createVisitor(site.server.url).post('/api/auth/reset-request', { email });
    const reset = await site.sink.waitFor(email, { after: resetBefore });
    expect(reset.text).toContain('60 minutes');
    expect(linkIn(reset.text)).toMatch(/^\/reset\?token=/);

    // The author's admin, in French too.
    await site.store.client.execute({ sql: "UPDATE users SET role = 'admin' WHERE email = ?", args: [email] });
    const { rows } = await site.store.client.execute({ sql: 'SELECT id FROM users WHERE email = ?', args: [email] });
    for (const path of [
      '/admin/',
      '/admin/members',
      `/admin/members/${rows[0]!.id}`,
      '/admin/purchases',
      '/admin/courses',
      '/admin/courses/python-fundamentals',
      '/admin/audit',
      '/admin/purchases?from=nonsense',
    ]) {
      const response = await member.get(path);
      const text = await response.text();
      expect(text, path).toContain('<html lang="fr-FR"');
      pages.push(`${path}\n${text.replace(/[\s\S]*<main/, '')}`);
    }
    expect(pages.at(-1)).toContain('Ces filtres ne sont pas valides');

    const found: string[] = [];
    for (const text of pages) for (const sentence of englishIn(visibleText(text), sentences)) found.push(`${text.slice(0, 40)}: ${sentence}`);
    for (const mail of [confirm, purchase, reset]) {
      for (const sentence of englishIn(`${mail.subject}\n${mail.text}\n${visibleText(mail.html)}`, sentences)) found.push(`email ${mail.subject}: ${sentence}`);
    }
    expect(found).toEqual([]);
  });
});
