import { z } from 'zod';
import type { AppContext, Client } from '../context.ts';
import { isMailCapped, sendAfterResponse } from '../email/mailer.ts';
import { signInLinkMessage } from '../email/messages.ts';
import { acceptFormPost, parseForm } from '../http/form.ts';
import { redirect, redirectWithError, tooManyRequests } from '../http/responses.ts';
import { safeNext } from '../http/safe-next.ts';
import { keepTypedEmail } from '../http/typed-email.ts';
import { getUserByEmail } from './accounts.ts';
import { emailSchema } from './credentials.ts';
import { useMailedToken } from './email-verification.ts';
import { checkRateLimit } from './rate-limit.ts';
import { startSession } from './session.ts';
import { TOKEN_LIFETIME_MS, TOKEN_PATTERN, issueToken } from './tokens.ts';
import { messagesOf } from '../i18n/index.ts';
import { siteNameOf } from '../http/page-shell.ts';

const linkRequestForm = z.object({ email: emailSchema });
const linkForm = z.object({ token: z.string({ error: 'token-invalid' }).regex(TOKEN_PATTERN, { error: 'token-invalid' }) });

/** POST /api/auth/link-request: emails a one-time sign-in link; the same answer for any email. */
export async function handleLinkRequest(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const next = typeof fields.next === 'string' ? safeNext(fields.next) : undefined;
  const form = parseForm(linkRequestForm, fields);
  if (!form.ok) return redirectWithError('/login', form.error, { next, mode: 'link' }, keepTypedEmail(ctx.config.siteUrl, fields.email));
  const { email } = form.data;

  const now = ctx.clock.now();
  const wait = await checkRateLimit(ctx.db, 'link', { ip: client.address, email }, now);
  if (wait) return tooManyRequests(await messagesOf(ctx), wait);

  const user = await getUserByEmail(ctx.db, email);
  if (user && !(await isMailCapped(ctx, user.email, { userId: user.id, purpose: 'link' }))) {
    const token = await issueToken(ctx.db, user.id, 'link', now);
    // The link opens a page with a button that posts the token: mail scanners that fetch links
    // must not use it up.
    const query = new URLSearchParams({ token, ...(next ? { next } : {}) });
    const url = new URL(`/login?${query}`, ctx.config.siteUrl).href;
    sendAfterResponse(
      ctx,
      client,
      signInLinkMessage({ t: await messagesOf(ctx), to: user.email, url, siteName: await siteNameOf(ctx), minutes: TOKEN_LIFETIME_MS.link / 60_000 }),
      { userId: user.id, purpose: 'link' },
    );
  }
  return redirect(`/login?${new URLSearchParams({ notice: 'link-sent', ...(next ? { next } : {}) })}`);
}

/**
 * POST /api/auth/link: signs in with an emailed token, which proves the address: the first time,
 * every other session and the password set before it end (email-verification.ts).
 */
export async function handleLink(request: Request, ctx: AppContext, client: Client): Promise<Response> {
  const fields = await acceptFormPost(request, ctx);
  if (fields instanceof Response) return fields;
  const next = typeof fields.next === 'string' ? safeNext(fields.next) : undefined;
  const form = parseForm(linkForm, fields);
  if (!form.ok) return redirectWithError('/login', 'token-invalid', { next, mode: 'link' });

  const now = ctx.clock.now();
  const wait = await checkRateLimit(ctx.db, 'link', { ip: client.address }, now);
  if (wait) return tooManyRequests(await messagesOf(ctx), wait);

  const user = await useMailedToken(ctx.db, { token: form.data.token, purpose: 'link', now });
  if (!user) return redirectWithError('/login', 'token-invalid', { next, mode: 'link' });
  ctx.log.info('sign-in-link.used', { userId: user.id });
  return redirect(next ?? '/account', [await startSession(user, request, ctx)]);
}
