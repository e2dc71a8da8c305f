import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { acceptFormPost, parseForm } from '../http/form.ts';
import { redirect, redirectWithError, tooManyRequests } from '../http/responses.ts';
import { safeNext } from '../http/safe-next.ts';
import { keepTypedEmail } from '../http/typed-email.ts';
import { getUserByEmail, rehashPassword } from './accounts.ts';
import { emailSchema, passwordSchema } from './credentials.ts';
import { dummyHash, hashPassword, needsRehash, verifyPassword } from './password-hasher.ts';
import { checkRateLimit } from './rate-limit.ts';
import { startSession } from './session.ts';
import { messagesOf } from '../i18n/index.ts';

const signInForm = z.object({ email: emailSchema, password: passwordSchema });

/** POST /api/auth/login: signs in with email and password. */
export async function handleSignIn(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const next = typeof fields.next === 'string' ? safeNext(fields.next) : undefined;
  const form = parseForm(signInForm, fields);
  // Every refusal gives the page back the address typed, never the password.
  const typed = keepTypedEmail(ctx.config.siteUrl, fields.email);
  if (!form.ok) return redirectWithError('/login', form.error, { next }, typed);
  const { email, password } = form.data;

  const wait = await checkRateLimit(ctx.db, 'login', { ip: client.address }, ctx.clock.now());
  if (wait) return tooManyRequests(await messagesOf(ctx), wait);
  // Guesses at one account slow down; its owner is pointed to the mailed link, which no guess blocks.
  if (await checkRateLimit(ctx.db, 'login', { email }, ctx.clock.now())) return redirectWithError('/login', 'password-attempts', { next, mode: 'link' }, typed);

  const parameters = { iterations: ctx.config.passwordIterations };
  const user = await getUserByEmail(ctx.db, email);
  // An unknown email costs a full verification too, so timing does not tell which emails exist.
  const valid = await verifyPassword(password, user?.passwordHash ?? (await dummyHash(parameters)));
  if (!user || !user.passwordHash || !valid) {
    ctx.log.info('sign-in.failed', { userId: user?.id ?? null });
    return redirectWithError('/login', 'invalid-credentials', { next }, typed);
  }
  if (needsRehash(user.passwordHash, parameters)) {
    await rehashPassword(ctx.db, user.id, await hashPassword(password, parameters), ctx.clock.now());
    ctx.log.info('password.rehashed', { userId: user.id });
  }
  return redirect(next ?? '/account', [await startSession(user, request, ctx)]);
}
