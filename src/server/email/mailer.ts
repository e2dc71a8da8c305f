// The one way the core sends email. Transports live with their runtime: SMTP and the development
// outbox in src/node/, an HTTP email API on the serverless target.
import type { Client } from '../context.ts';
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

/**
 * Sends after the response: the visitor learns neither whether an account exists (from how long
 * the answer took) nor whether the mail server is up. Failures go to the log for the operator.
 */
export function sendAfterResponse(
  ctx: { mailer: Mailer; log: Log },
  client: Pick<Client, 'waitUntil'>,
  message: EmailMessage,
  about: { userId: number; purpose: string },
): void {
  client.waitUntil(
    ctx.mailer.send(message).then(
      () => ctx.log.info('mail.sent', about),
      (error: unknown) => ctx.log.error('mail.failed', { ...about, error: String(error) }),
    ),
  );
}
