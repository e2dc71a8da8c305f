// Signing out: on this browser (its session row goes, so a copy of its token dies too), or
// everywhere (every row of the account goes and its session version moves on).
import type { AppContext } from '../context.ts';
import { acceptFormPost } from '../http/form.ts';
import { redirect } from '../http/responses.ts';
import { bumpSessionVersion } from './accounts.ts';
import { clearSessionCookies, endSession, getMember } from './session.ts';

/** POST /api/auth/logout: ends the session of this browser. */
export async function handleSignOut(request: Request, ctx: AppContext): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  return redirect('/login?notice=signed-out', await endSession(request, ctx));
}

/** POST /api/auth/logout-all: ends every session of the account, this one included. */
export async function handleSignOutEverywhere(request: Request, ctx: AppContext): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const { member } = await getMember(request, ctx);
  if (member) {
    await bumpSessionVersion(ctx.db, member.id, ctx.clock.now());
    ctx.log.info('sessions.revoked', { userId: member.id });
  }
  return redirect(member ? '/login?notice=signed-out-everywhere' : '/login', clearSessionCookies(request.url, ctx.config));
}
