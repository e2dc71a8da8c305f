// What the pages say for the codes our endpoints put in `?error=` and `?notice=`, in the site's
// language (src/server/i18n/). A code that is not listed shows nothing: query text is never
// echoed into a page.
import { TOKEN_LIFETIME_MS } from '../auth/tokens.ts';
import type { Texts } from '../i18n/index.ts';
import { html, type SafeHtml } from './html.ts';

export function errorMessage(t: Texts, code: string | null): string | null {
  return code !== null && Object.hasOwn(t.errors, code) ? t.errors[code as keyof Texts['errors']] : null;
}

export function noticeMessage(t: Texts, code: string | null): string | null {
  if (code === null || !Object.hasOwn(t.notices, code)) return null;
  // The lifetimes the notices promise are the tokens' own.
  if (code === 'reset-sent') return t.notices[code](TOKEN_LIFETIME_MS.reset / 60_000);
  if (code === 'link-sent') return t.notices[code](TOKEN_LIFETIME_MS.link / 60_000);
  const text = t.notices[code as keyof Texts['notices']];
  return typeof text === 'string' ? text : null;
}

/** The message for the page's `?notice=` and `?error=` codes, as the forms' pages show them. */
export function formMessages(t: Texts, url: URL): SafeHtml {
  const notice = noticeMessage(t, url.searchParams.get('notice'));
  const error = errorMessage(t, url.searchParams.get('error'));
  return html`${notice && html`<p class="notice" role="status">${notice}</p>`}${error && html`<p class="form-error" role="alert">${error}</p>`}`;
}
