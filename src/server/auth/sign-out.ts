import type { AppContext } from '../context.ts';
import { acceptFormPost } from '../http/form.ts';
import { redirect } from '../http/responses.ts';
import { bumpSessionVersion } from './accounts.ts';
import { clearSessionCookie, getMember } from './session.ts';

/** POST /api/auth/logout: forgets the session on this device. */
export async function handleSignOut(request: Request, ctx: AppContext): Promise<Response> {
  const fields = await acceptFormPost(request, ctx.config);
  if (fields instanceof Response) return fields;
  return redirect('/login?notice=signed-out', [clearSessionCookie(request, ctx.config)]);
}

/** POST /api/auth/logout-all: ends every session of the account, this one included. */
export async function handleSignOutEverywhere(request: Request, ctx: AppContext): Promise<Response> {
  const fields = await acceptFormPost(request, ctx.config);
  if (fields instanceof Response) return fields;
  const { member } = await getMember(request, ctx);
  if (member) {
    await bumpSessionVersion(ctx.db, member.id, ctx.clock.now());
    ctx.log.info('sessions.revoked', { userId: member.id });
  }
  return redirect(member ? '/login?notice=signed-out-everywhere' : '/login', [clearSessionCookie(request, ctx.config)]);
}
