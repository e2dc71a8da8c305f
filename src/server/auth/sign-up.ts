// POST /api/auth/signup. It answers the same whether or not the address already has an account,
// so that the form cannot be used to find out who is a member: the same redirect, and no session
// cookie in either case. A new address gets its account (unverified) and a confirmation link that
// signs it in; an address that has one is left as it is and its owner is told by email.
import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { sendAfterResponse } from '../email/mailer.ts';
import { signUpAttemptMessage } from '../email/messages.ts';
import { acceptFormPost, parseForm } from '../http/form.ts';
import { redirect, redirectWithError, tooManyRequests } from '../http/responses.ts';
import { safeNext } from '../http/safe-next.ts';
import { keepTypedEmail } from '../http/typed-email.ts';
import { createUser, getUserByEmail } from './accounts.ts';
import { sendConfirmation } from './confirm-email.ts';
import { emailSchema, newPasswordSchema } from './credentials.ts';
import { hashPassword } from './password-hasher.ts';
import { checkRateLimit } from './rate-limit.ts';
import { messagesOf } from '../i18n/index.ts';
import { siteNameOf } from '../http/page-shell.ts';

const signUpForm = z.object({ email: emailSchema, password: newPasswordSchema });

export async function handleSignUp(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const next = typeof fields.next === 'string' ? safeNext(fields.next) : undefined;
  const form = parseForm(signUpForm, fields);
  if (!form.ok) return redirectWithError('/signup', form.error, { next }, keepTypedEmail(ctx.config.siteUrl, fields.email));
  const { email, password } = form.data;

  const now = ctx.clock.now();
  const wait = await checkRateLimit(ctx.db, 'signup', { ip: client.address, email }, now);
  if (wait) return tooManyRequests(await messagesOf(ctx), wait);

  // Hashed either way, so that the time taken does not tell the two cases apart.
  const passwordHash = await hashPassword(password, { iterations: ctx.config.passwordIterations });
  const user = await createUser(ctx.db, email, passwordHash, now);
  // The same answer for both: the sign-up page says "check your email", and the mailed link goes on
  // to `next` (0006).
  const location = `/signup?${new URLSearchParams({ notice: 'check-email', ...(next ? { next } : {}) })}`;
  if (!user) {
    const owner = await getUserByEmail(ctx.db, email);
    if (owner) {
      const site = ctx.config.siteUrl;
      sendAfterResponse(
        ctx,
        client,
        signUpAttemptMessage({
          t: await messagesOf(ctx),
          to: owner.email,
          loginUrl: new URL('/login?mode=link', site).href,
          resetUrl: new URL('/reset', site).href,
          siteName: await siteNameOf(ctx),
        }),
        { userId: owner.id, purpose: 'sign-up-attempt' },
      );
      ctx.log.info('sign-up.existing-address', { userId: owner.id });
    }
    return redirect(location);
  }
  ctx.log.info('account.created', { userId: user.id });
  await sendConfirmation(ctx, client, { id: user.id, email: user.email, hasPassword: true }, now, next);
  return redirect(location);
}
