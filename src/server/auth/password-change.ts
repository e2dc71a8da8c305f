// POST /api/auth/password: the signed-in member's own password form.
import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { users } from '../db/schema.ts';
import { acceptFormPost, parseForm } from '../http/form.ts';
import { redirect, redirectWithError, tooManyRequests } from '../http/responses.ts';
import { eq } from 'drizzle-orm';
import { setPassword } from './accounts.ts';
import { newPasswordSchema, passwordSchema } from './credentials.ts';
import { hashPassword, verifyPassword } from './password-hasher.ts';
import { checkRateLimit } from './rate-limit.ts';
import { requireMember, startSession } from './session.ts';
import { messagesOf } from '../i18n/index.ts';

const passwordChangeForm = z.object({ current_password: passwordSchema.optional(), password: newPasswordSchema });

/**
 * Replaces the password after checking the current one, or sets the first one of a passwordless
 * account whose address is verified. An unverified passwordless account (a guest buyer signed in
 * by the success page) sets its first password only with a mailed link: a browser session is no
 * proof of the address. Every session and mailed token ends; this browser gets a new session.
 */
export async function handlePasswordChange(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const visitor = await requireMember(request, ctx, '/account/password');
  if (visitor instanceof Response) return visitor;
  const { member, setCookies } = visitor;
  const form = parseForm(passwordChangeForm, fields);
  if (!form.ok) return redirectWithError('/account/password', form.error);

  const wait = await checkRateLimit(ctx.db, 'password', { ip: client.address, email: member.email }, ctx.clock.now());
  if (wait) return tooManyRequests(await messagesOf(ctx), wait);

  const stored = await ctx.db
    .select({ passwordHash: users.passwordHash, emailVerifiedAt: users.emailVerifiedAt })
    .from(users)
    .where(eq(users.id, member.id))
    .get();
  if (!stored) return redirect('/login');
  if (stored.passwordHash === null && stored.emailVerifiedAt === null) return redirectWithError('/account/password', 'password-needs-link');
  if (stored.passwordHash !== null) {
    const current = form.data.current_password;
    if (!current || !(await verifyPassword(current, stored.passwordHash))) return redirectWithError('/account/password', 'wrong-password');
  }
  const passwordHash = await hashPassword(form.data.password, { iterations: ctx.config.passwordIterations });
  const user = await setPassword(ctx.db, member.id, passwordHash, ctx.clock.now());
  if (!user) return redirect('/login');
  ctx.log.info(stored.passwordHash === null ? 'password.set' : 'password.changed', { userId: user.id });
  return redirect('/account?notice=password-changed', [await startSession(user, request, ctx)]);
}
