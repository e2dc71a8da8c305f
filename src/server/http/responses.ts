// The answers our form endpoints give a browser. Success and ordinary failures are 303 redirects
// (the form works without JavaScript and a reload never re-posts); only problems the form cannot
// show are answered in place, with a short page and the right status.
import type { Texts } from '../i18n/index.ts';
import { escapeHtml } from './html.ts';

export { escapeHtml };

export function redirect(location: string, setCookies: string[] = []): Response {
  const headers = new Headers({ Location: location, 'Cache-Control': 'no-store' });
  for (const cookie of setCookies) headers.append('Set-Cookie', cookie);
  return new Response(null, { status: 303, headers });
}

/**
 * Back to `form` with an error code the page turns into a message, keeping `next` if any;
 * `setCookies` carries what the page must put back in the form (typed-email.ts).
 */
export function redirectWithError(form: string, code: string, params: Record<string, string | undefined> = {}, setCookies: string[] = []): Response {
  const query = new URLSearchParams({ error: code });
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, value);
  return redirect(`${form}?${query}`, setCookies);
}

/** A short page outside the site's layout, in the site's language: for answers given before or without it. */
export function htmlPage(t: Texts, status: number, title: string, message: string, headers: Record<string, string> = {}): Response {
  const body = `<!doctype html><html lang="${escapeHtml(t.locale)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title></head><body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5;"><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><a href="/">${escapeHtml(t.page.home)}</a></p></main></body></html>`;
  return new Response(body, { status, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...headers } });
}

export function tooManyRequests(t: Texts, retryAfterSeconds: number): Response {
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return htmlPage(t, 429, t.page.tooManyAttempts, t.page.waitMinutes(minutes), {
    'Retry-After': String(retryAfterSeconds),
  });
}

export function crossSiteForbidden(t: Texts): Response {
  return htmlPage(t, 403, t.page.formRefused, t.page.crossSite);
}
