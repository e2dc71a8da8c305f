import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { acceptFormPost, parseForm } from '../http/form.ts';
import { redirect, redirectWithError, tooManyRequests } from '../http/responses.ts';
import { safeNext } from '../http/safe-next.ts';
import { createUser } from './accounts.ts';
import { emailSchema, newPasswordSchema } from './credentials.ts';
import { hashPassword } from './password-hasher.ts';
import { checkRateLimit } from './rate-limit.ts';
import { startSession } from './session.ts';

const signUpForm = z.object({ email: emailSchema, password: newPasswordSchema });

/** POST /api/auth/signup: creates the account and signs it in. */
export async function handleSignUp(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx.config);
  if (fields instanceof Response) return fields;
  const next = typeof fields.next === 'string' ? safeNext(fields.next) : undefined;
  const form = parseForm(signUpForm, fields);
  if (!form.ok) return redirectWithError('/signup', form.error, { next });
  const { email, password } = form.data;

  const wait = await checkRateLimit(ctx.db, 'signup', { ip: client.address, email }, ctx.clock.now());
  if (wait) return tooManyRequests(wait);

  const passwordHash = await hashPassword(password, { iterations: ctx.config.passwordIterations });
  const user = await createUser(ctx.db, email, passwordHash, ctx.clock.now());
  if (!user) return redirectWithError('/signup', 'email-taken', { next });
  ctx.log.info('account.created', { userId: user.id });
  return redirect(next ?? '/account?notice=welcome', [await startSession(user, request, ctx)]);
}
