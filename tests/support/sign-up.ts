// How a test gets a new member: the way a person does since sign-up stopped signing anyone in
// (docs/decisions/0006): the form, then the link in the confirmation mail, which asks for the
// password chosen and starts the session. One helper, so that every test walks the real journey
// and a change to it is made once.
import type { Page } from 'playwright-core';
import type { Visitor } from './visitor.ts';

export type SignUpFields = { email: string; password: string; next?: string };

/** Where the mail is read: the SMTP sink (tests/support/smtp-sink.ts), or the stand-in of an email API. */
export type Inbox = {
  messages: { length: number };
  waitFor(to: string, options: { after: number; subject: RegExp }): Promise<{ text: string }>;
};

/** The subject of the mail a new address receives (confirmEmailMessage), in English or French. */
export const CONFIRMATION_SUBJECT = /Confirm your email address|Confirmez votre adresse e-mail/;

/** The path and query of the confirmation link in a mail's text, whatever the site's host. */
export function confirmationLinkIn(text: string): string {
  const match = /https?:\/\/[^/\s]+(\/verify\?\S+)/.exec(text);
  if (!match) throw new Error(`no confirmation link in:\n${text}`);
  return match[1]!;
}

/**
 * Signs `visitor` up and confirms the address from the mail, as the person who chose the password:
 * afterwards the visitor holds a session. Returns the confirmation's answer (a 303 to `next`, or to
 * the account). Throws when any step answers otherwise, and when sign-up itself set a cookie.
 */
export async function signUpAndConfirm(
  visitor: Visitor,
  sink: Inbox,
  fields: SignUpFields,
  options: { headers?: Record<string, string> } = {},
): Promise<Response> {
  const mark = sink.messages.length;
  const signup = await visitor.post('/api/auth/signup', { ...fields }, { headers: options.headers });
  await signup.arrayBuffer();
  if (signup.status !== 303 || !signup.headers.get('location')?.startsWith('/signup?notice=check-email')) {
    throw new Error(`sign-up answered ${signup.status} ${signup.headers.get('location')}`);
  }
  if (signup.headers.getSetCookie().length > 0) throw new Error(`sign-up set a cookie: ${signup.headers.getSetCookie()}`);
  const mail = await sink.waitFor(fields.email.trim().toLowerCase(), { after: mark, subject: CONFIRMATION_SUBJECT });
  const link = confirmationLinkIn(mail.text);
  // The link opens the page with the form, as in a browser; the form posts the token, the `next`
  // it carries, and the password.
  const page = await visitor.get(link, options.headers);
  await page.arrayBuffer();
  if (page.status !== 200) throw new Error(`the confirmation page answered ${page.status}`);
  const query = new URL(link, 'https://site.invalid').searchParams;
  const form: Record<string, string> = { token: query.get('token') ?? '', password: fields.password };
  const next = query.get('next');
  if (next !== null) form.next = next;
  const confirmed = await visitor.post('/api/auth/verify', form, { headers: options.headers });
  await confirmed.arrayBuffer();
  if (confirmed.status !== 303 || confirmed.headers.getSetCookie().length === 0) {
    throw new Error(`the confirmation answered ${confirmed.status} ${confirmed.headers.get('location')} without a session`);
  }
  return confirmed;
}

/**
 * The same journey in a browser whose page shows the sign-up form: it fills and sends the form,
 * reads "check your email", opens the mailed link in the same page and confirms with the
 * password. The page then goes on to the form's `next` (or the account), signed in.
 */
/** The words of the forms signUpInBrowser fills, in the site's language. */
export const SIGN_UP_WORDS = {
  en: { email: 'Email', password: 'Password', create: 'Create account', checkEmail: 'Check your email', confirm: 'Confirm and sign in' },
  fr: {
    email: 'Adresse e-mail',
    password: 'Mot de passe',
    create: 'Créer le compte',
    checkEmail: 'Consultez votre messagerie',
    confirm: 'Confirmer et se connecter',
  },
};

export async function signUpInBrowser(page: Page, inbox: Inbox, fields: { email: string; password: string }, words = SIGN_UP_WORDS.en): Promise<void> {
  const mark = inbox.messages.length;
  await page.getByLabel(words.email).fill(fields.email);
  await page.getByLabel(words.password).fill(fields.password);
  await page.getByRole('button', { name: words.create }).click();
  await page.getByRole('heading', { level: 1, name: words.checkEmail }).waitFor();
  const mail = await inbox.waitFor(fields.email, { after: mark, subject: CONFIRMATION_SUBJECT });
  await page.goto(new URL(confirmationLinkIn(mail.text), page.url()).href);
  await page.getByLabel(words.password).fill(fields.password);
  await page.getByRole('button', { name: words.confirm }).click();
}
