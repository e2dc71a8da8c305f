// What an on-demand Astro page on Node needs from the core: the context, and who is signed in,
// with the session cookie renewed or cleared on the page's own response.
import type { AstroGlobal } from 'astro';
import type { AppContext } from '../server/context.ts';
import { getMember, type Member } from '../server/auth/session.ts';
import { redirect } from '../server/http/responses.ts';
import { getAppContext } from './app-context.ts';

export async function getPageSession(Astro: AstroGlobal): Promise<{ ctx: AppContext; member: Member | null }> {
  const ctx = await getAppContext();
  const { member, setCookie } = await getMember(Astro.request, ctx);
  if (setCookie) Astro.response.headers.append('Set-Cookie', setCookie);
  // Pages that depend on the visitor must not be stored by shared caches or the back button.
  Astro.response.headers.set('Cache-Control', 'private, no-store');
  return { ctx, member };
}

/**
 * A 303 from a page that keeps the cookies the page already decided on (a page that returns its
 * own Response loses what was set on Astro.response).
 */
export function pageRedirect(Astro: AstroGlobal, location: string): Response {
  return redirect(location, Astro.response.headers.getSetCookie());
}
