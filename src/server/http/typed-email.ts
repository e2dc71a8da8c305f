// A form refused for an error goes back to its page by a redirect (Post/Redirect/Get: a reload
// never sends a password again, and every adapter and proxy sees the same answers), and that page
// shows the error. The email address the person typed must come back too, but not in that URL:
// URLs land in access logs, history and Referer. It rides back in a cookie that lives a minute,
// holds nothing else, is read once by the form's page and cleared there
// (docs/decisions/0021-typed-email-kept-across-a-refused-form.md).
import { readCookie, serializeCookie } from './cookies.ts';

const LIFETIME_S = 60;
/** An address longer than the forms accept (maxlength 254) is not worth keeping. */
const MAX_LENGTH = 254;

/** `__Host-` on an https site: only this host, over https, may set it. Plain-http development cannot use the prefix. */
function cookieName(siteUrl: URL): string {
  return siteUrl.protocol === 'https:' ? '__Host-typed-email' : 'typed-email';
}

/** The Set-Cookie that carries what was typed in the form's email field back to its page, or none. */
export function keepTypedEmail(siteUrl: URL, typed: unknown): string[] {
  if (typeof typed !== 'string') return [];
  const email = typed.trim();
  if (email === '' || email.length > MAX_LENGTH) return [];
  return [serializeCookie(cookieName(siteUrl), encodeURIComponent(email), { maxAge: LIFETIME_S, secure: siteUrl.protocol === 'https:' })];
}

/** What the form's page puts back in its email field ('' for nothing), and the Set-Cookie that clears it. */
export function takeTypedEmail(request: Request, siteUrl: URL): { email: string; setCookies: string[] } {
  const name = cookieName(siteUrl);
  const value = readCookie(request, name);
  if (value === null) return { email: '', setCookies: [] };
  const cleared = [serializeCookie(name, '', { maxAge: 0, secure: siteUrl.protocol === 'https:' })];
  let email = '';
  try {
    email = decodeURIComponent(value);
  } catch {
    return { email: '', setCookies: cleared };
  }
  // Shown escaped in a value attribute; anything a person could not have typed in the field is dropped.
  if (email.length > MAX_LENGTH || /[\u0000-\u001f\u007f]/.test(email)) email = '';
  return { email, setCookies: cleared };
}
