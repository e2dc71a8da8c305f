import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { isMailCapped, sendAfterResponse } from '../email/mailer.ts';
import { passwordResetMessage } from '../email/messages.ts';
import { acceptFormPost, parseForm } from '../http/form.ts';
import { redirect, redirectWithError, tooManyRequests } from '../http/responses.ts';
import { keepTypedEmail } from '../http/typed-email.ts';
import { getUserByEmail } from './accounts.ts';
import { emailSchema, newPasswordSchema } from './credentials.ts';
import { useMailedToken } from './email-verification.ts';
import { hashPassword } from './password-hasher.ts';
import { checkRateLimit } from './rate-limit.ts';
import { startSession } from './session.ts';
import { TOKEN_LIFETIME_MS, TOKEN_PATTERN, issueToken } from './tokens.ts';
import { messagesOf } from '../i18n/index.ts';
import { siteNameOf } from '../http/page-shell.ts';

const resetRequestForm = z.object({ email: emailSchema });
const resetForm = z.object({
  token: z.string({ error: 'token-invalid' }).regex(TOKEN_PATTERN, { error: 'token-invalid' }),
  password: newPasswordSchema,
});

/**
 * POST /api/auth/reset-request: emails a reset link when the account exists. The answer is the
 * same either way, so the form cannot be used to find out who has an account.
 */
export async function handleResetRequest(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const form = parseForm(resetRequestForm, fields);
  if (!form.ok) return redirectWithError('/reset', form.error, {}, keepTypedEmail(ctx.config.siteUrl, fields.email));
  const { email } = form.data;

  const now = ctx.clock.now();
  const wait = await checkRateLimit(ctx.db, 'reset', { ip: client.address, email }, now);
  if (wait) return tooManyRequests(await messagesOf(ctx), wait);

  const user = await getUserByEmail(ctx.db, email);
  if (user && !(await isMailCapped(ctx, user.email, { userId: user.id, purpose: 'reset' }))) {
    const token = await issueToken(ctx.db, user.id, 'reset', now);
    const url = new URL(`/reset?token=${token}`, ctx.config.siteUrl).href;
    sendAfterResponse(
      ctx,
      client,
      passwordResetMessage({ t: await messagesOf(ctx), to: user.email, url, siteName: await siteNameOf(ctx), minutes: TOKEN_LIFETIME_MS.reset / 60_000 }),
      { userId: user.id, purpose: 'reset' },
    );
  }
  return redirect('/reset?notice=reset-sent');
}

/**
 * POST /api/auth/reset: sets a new password with an emailed token (a reset, or a guest buyer's
 * set-password link), which also proves the address; signs in.
 */
export async function handleReset(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const form = parseForm(resetForm, fields);
  if (!form.ok) {
    // A password problem keeps the (well-formed) token so the visitor can try again.
    const token = typeof fields.token === 'string' && TOKEN_PATTERN.test(fields.token) ? fields.token : undefined;
    return redirectWithError('/reset', token ? form.error : 'token-invalid', { token });
  }
  const { token, password } = form.data;

  const wait = await checkRateLimit(ctx.db, 'reset', { ip: client.address }, ctx.clock.now());
  if (wait) return tooManyRequests(await messagesOf(ctx), wait);

  const passwordHash = await hashPassword(password, { iterations: ctx.config.passwordIterations });
  // The password changes if and only if this request is the one that uses the token up; every
  // session and every other mailed token of the account end with it.
  const user = await useMailedToken(ctx.db, { token, purpose: 'reset', now: ctx.clock.now(), newPasswordHash: passwordHash });
  if (!user) return redirectWithError('/reset', 'token-invalid');
  const userId = user.id;
  ctx.log.info('password-reset.done', { userId });
  return redirect('/account?notice=password-reset', [await startSession(user, request, ctx)]);
}
