// What the pages say for the codes our endpoints put in `?error=` and `?notice=`. A code that is
// not listed shows nothing: query text is never echoed into a page.
import { html, type SafeHtml } from './html.ts';

const ERRORS: Record<string, string> = {
  'form-invalid': 'Something was missing from the form. Please fill it in again.',
  'email-invalid': 'Enter a valid email address.',
  'password-missing': 'Enter your password.',
  'password-too-short': 'Choose a password of at least 10 characters.',
  'password-too-long': 'That password is too long.',
  'password-common': 'That password is one of the most common ones. Choose another.',
  'invalid-credentials': 'That email and password do not match an account.',
  'wrong-password': 'Your current password is not right.',
  'token-invalid': 'This link has expired or has been used already. Ask for a new one below.',
  'verify-password-wrong': 'That is not the password of this account. If you did not create it, or forgot the password, choose a new one instead.',
  'password-needs-link': 'To choose the first password of your account, use the link we emailed you. We can send you a new one.',
  'password-attempts': 'Too many wrong passwords for this address lately, so password sign-in waits a few minutes. Get a sign-in link by email below: it works now.',
};

const NOTICES: Record<string, string> = {
  'reset-sent': 'If there is an account for that address, we have sent it a link to choose a new password. It works for 60 minutes.',
  'link-sent': 'If there is an account for that address, we have sent it a sign-in link. It works for 15 minutes.',
  'signed-out': 'You are signed out.',
  'signed-out-everywhere': 'You are signed out on every device.',
  'password-changed': 'Your password has been changed. Other devices have been signed out.',
  'password-reset': 'Your new password is set and you are signed in.',
  'check-email': 'We have sent an email with a link to that address. Open the link to confirm your address and finish: you will be signed in and taken back to where you were.',
  'email-verified': 'Your email address is confirmed and you are signed in.',
  'verify-sent': 'We have sent you an email with a link. Follow it to confirm your address.',
  'confirm-to-read': 'A course bought for your address waits for you: confirm your email address to read it.',
};

export function errorMessage(code: string | null): string | null {
  return code !== null && Object.hasOwn(ERRORS, code) ? ERRORS[code]! : null;
}

export function noticeMessage(code: string | null): string | null {
  return code !== null && Object.hasOwn(NOTICES, code) ? NOTICES[code]! : null;
}

/** The message for the page's `?notice=` and `?error=` codes, as the forms' pages show them. */
export function formMessages(url: URL): SafeHtml {
  const notice = noticeMessage(url.searchParams.get('notice'));
  const error = errorMessage(url.searchParams.get('error'));
  return html`${notice && html`<p class="notice" role="status">${notice}</p>`}${error && html`<p class="form-error" role="alert">${error}</p>`}`;
}
