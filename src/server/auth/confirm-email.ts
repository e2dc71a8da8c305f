// Confirming an address after sign-up. The link mailed at sign-up proves control of the address;
// the password typed with it proves that the person confirming is the one who chose the account's
// password, so that password may stay (email-verification.ts). Someone who gets the mail for an
// account they did not create cannot type it, and is sent to choose their own password instead.
// Sign-up signs nobody in (it must answer a registered address exactly as a new one), so this is
// where a new member's first session starts, and where they go on to the page they signed up from.
import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import type { User } from '../db/schema.ts';
import { sendAfterResponse } from '../email/mailer.ts';
import { confirmEmailMessage, setPasswordMessage } from '../email/messages.ts';
import { acceptFormPost, parseForm } from '../http/form.ts';
import { redirect, redirectWithError, tooManyRequests } from '../http/responses.ts';
import { safeNext } from '../http/safe-next.ts';
import { SET_PASSWORD_LINK_MS } from '../payments/fulfil.ts';
import { passwordSchema } from './credentials.ts';
import { useMailedToken } from './email-verification.ts';
import { verifyPassword } from './password-hasher.ts';
import { checkRateLimit } from './rate-limit.ts';
import { requireMember, startSession } from './session.ts';
import { TOKEN_LIFETIME_MS, TOKEN_PATTERN, getTokenUser, issueToken } from './tokens.ts';
import { messagesOf } from '../i18n/index.ts';
import { siteNameOf } from '../http/page-shell.ts';

const confirmForm = z.object({
  token: z.string({ error: 'token-invalid' }).regex(TOKEN_PATTERN, { error: 'token-invalid' }),
  password: passwordSchema.optional(),
});

/**
 * Mails the account the link that verifies its address: the confirmation (which asks for the
 * password) when it has a password, else a set-password link (a guest buyer's account). `next`, a
 * path already passed through safeNext, is where the confirmation sends the member afterwards.
 */
export async function sendConfirmation(
  ctx: AppContext,
  client: Pick<Client, 'waitUntil'>,
  user: { id: number; email: string; hasPassword: boolean },
  now: number,
  next?: string,
): Promise<void> {
  const site = ctx.config.siteUrl;
  if (!user.hasPassword) {
    const token = await issueToken(ctx.db, user.id, 'reset', now, SET_PASSWORD_LINK_MS);
    const url = new URL(`/reset?token=${token}&welcome=1`, site).href;
    sendAfterResponse(
      ctx,
      client,
      setPasswordMessage({ t: await messagesOf(ctx), to: user.email, url, siteName: await siteNameOf(ctx), days: SET_PASSWORD_LINK_MS / 86_400_000 }),
      { userId: user.id, purpose: 'set-password' },
    );
    return;
  }
  const token = await issueToken(ctx.db, user.id, 'verify', now);
  const message = confirmEmailMessage({
    t: await messagesOf(ctx),
    to: user.email,
    url: new URL(`/verify?${new URLSearchParams({ token, ...(next ? { next } : {}) })}`, site).href,
    resetUrl: new URL('/reset', site).href,
    siteName: await siteNameOf(ctx),
    days: TOKEN_LIFETIME_MS.verify / 86_400_000,
  });
  sendAfterResponse(ctx, client, message, { userId: user.id, purpose: 'confirm-email' });
}

/**
 * The password whoever confirms must type: the account's own, or the one chosen at sign-up that
 * the confirmation makes the account's; null when the account has neither (nothing to type).
 */
export function passwordToConfirm(user: Pick<User, 'passwordHash' | 'pendingPasswordHash'>): string | null {
  return user.passwordHash ?? user.pendingPasswordHash;
}

/**
 * POST /api/auth/verify: confirms the address with the mailed token and the account's password,
 * signs the member in and sends them on to `next` (else their account).
 */
export async function handleConfirmEmail(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const next = typeof fields.next === 'string' ? safeNext(fields.next) : undefined;
  const form = parseForm(confirmForm, fields);
  if (!form.ok) {
    const token = typeof fields.token === 'string' && TOKEN_PATTERN.test(fields.token) ? fields.token : undefined;
    return redirectWithError('/verify', token ? form.error : 'token-invalid', { token, next });
  }
  const { token, password } = form.data;
  const now = ctx.clock.now();
  const owner = await getTokenUser(ctx, token, 'verify', now);
  if (!owner) return redirectWithError('/verify', 'token-invalid', { next });

  // Guessing the password here is guessing a sign-in password: the same limits.
  const wait = await checkRateLimit(ctx.db, 'login', { ip: client.address, email: owner.email }, now);
  if (wait) return tooManyRequests(await messagesOf(ctx), wait);
  const chosen = passwordToConfirm(owner);
  if (chosen !== null && !(password && (await verifyPassword(password, chosen)))) {
    ctx.log.info('email-confirm.wrong-password', { userId: owner.id });
    return redirectWithError('/verify', 'verify-password-wrong', { token, next });
  }
  const user = await useMailedToken(ctx.db, { token, purpose: 'verify', now, provenPasswordHash: chosen ?? undefined });
  if (!user) return redirectWithError('/verify', 'token-invalid', { next });
  ctx.log.info('email-confirm.done', { userId: user.id });
  return redirect(next ?? '/account?notice=email-verified', [await startSession(user, request, ctx)]);
}

/** POST /api/auth/verify-request: a signed-in member asks for a new link to verify their address. */
export async function handleConfirmRequest(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const visitor = await requireMember(request, ctx, '/account');
  if (visitor instanceof Response) return visitor;
  const { member, setCookies: cookies } = visitor;
  if (member.emailVerified) return redirect('/account', cookies);
  const now = ctx.clock.now();
  // It mails the member's own inbox: the limits of the reset form, which does the same.
  const wait = await checkRateLimit(ctx.db, 'reset', { ip: client.address, email: member.email }, now);
  if (wait) return tooManyRequests(await messagesOf(ctx), wait);
  await sendConfirmation(ctx, client, member, now);
  return redirect('/account?notice=verify-sent', cookies);
}
