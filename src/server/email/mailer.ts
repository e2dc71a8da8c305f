// The one way the core sends email. Transports live with their runtime: SMTP and the development
// outbox in src/node/, an HTTP email API on the serverless target.
import { isRateLimited, checkRateLimit } from '../auth/rate-limit.ts';
import type { Client, Clock, Db } from '../context.ts';
import type { Log } from '../log.ts';

export type EmailMessage = {
  to: string;
  subject: string;
  text: string;
  html: string;
};

export interface Mailer {
  send(message: EmailMessage): Promise<void>;
}

export type MailContext = { mailer: Mailer; log: Log; db: Db; clock: Clock };

/**
 * Sends after the response: the visitor learns neither whether an account exists (from how long
 * the answer took) nor whether the mail server is up. Failures go to the log for the operator.
 *
 * Every mail anybody can make the site send counts against its address's daily cap (`mail` in
 * rate-limit.ts): over it, the visitor's answer is the same as ever, but no mail leaves and the
 * log says so. Mails caused by a payment (`cause: 'payment'`) are neither counted nor held back:
 * nobody floods an inbox at the price of a course, and a buyer's set-password link or the
 * author's sale notice must not wait on what strangers asked for.
 */
export function sendAfterResponse(
  ctx: MailContext,
  client: Pick<Client, 'waitUntil'>,
  message: EmailMessage,
  about: { userId: number; purpose: string; cause?: 'payment' },
): void {
  const send = async () => {
    if (about.cause !== 'payment' && (await checkRateLimit(ctx.db, 'mail', { email: message.to }, ctx.clock.now()))) {
      ctx.log.warn('mail.capped', { userId: about.userId, purpose: about.purpose });
      return;
    }
    await ctx.mailer.send(message);
    ctx.log.info('mail.sent', { userId: about.userId, purpose: about.purpose });
  };
  client.waitUntil(send().catch((error: unknown) => ctx.log.error('mail.failed', { userId: about.userId, purpose: about.purpose, error: String(error) })));
}

/**
 * Whether a mail to `to` would be held back by the daily cap. A handler that mails a fresh token
 * asks first and then issues none: a new token may revoke the one mailed before, and the owner's
 * latest mail must keep working.
 */
export async function isMailCapped(ctx: Pick<MailContext, 'db' | 'clock' | 'log'>, to: string, about: { userId: number; purpose: string }): Promise<boolean> {
  const capped = await isRateLimited(ctx.db, 'mail', { email: to }, ctx.clock.now());
  if (capped) ctx.log.warn('mail.capped', about);
  return capped;
}
