import type { AppContext } from '../context.ts';
import { getMember } from './session.ts';

/**
 * GET /api/me: who is signed in, for the small script on static pages. Never cached by anyone
 * but the browser's own request.
 */
export async function handleMe(request: Request, ctx: AppContext): Promise<Response> {
  const { member, setCookie } = await getMember(request, ctx);
  const headers = new Headers({ 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'private, no-store' });
  if (setCookie) headers.append('Set-Cookie', setCookie);
  const body = member ? { signedIn: true, email: member.email } : { signedIn: false };
  return new Response(JSON.stringify(body), { headers });
}
