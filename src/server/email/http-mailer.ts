// Mail through a provider's HTTP API, for runtimes without SMTP (Cloudflare Workers have no
// outgoing SMTP). Only fetch: it runs on Node and on workerd alike. Each provider's request is
// the one its documentation gives; a refusal (bad key, unverified sender) throws with the
// provider's own message so that the log names what to fix.
import type { EmailApiSettings, EmailProvider } from '../config.ts';
import type { EmailMessage, Mailer } from './mailer.ts';

type ProviderRequest = { url: string; headers: Record<string, string>; body: unknown };

const PROVIDERS: Record<EmailProvider, { base: string; request(base: string, key: string, from: string, message: EmailMessage): ProviderRequest }> = {
  // https://resend.com/docs/api-reference/emails/send-email
  resend: {
    base: 'https://api.resend.com',
    request: (base, key, from, message) => ({
      url: `${base}/emails`,
      headers: { Authorization: `Bearer ${key}` },
      body: { from, to: [message.to], subject: message.subject, text: message.text, html: message.html },
    }),
  },
  // https://postmarkapp.com/developer/api/email-api
  postmark: {
    base: 'https://api.postmarkapp.com',
    request: (base, key, from, message) => ({
      url: `${base}/email`,
      headers: { 'X-Postmark-Server-Token': key, Accept: 'application/json' },
      body: { From: from, To: message.to, Subject: message.subject, TextBody: message.text, HtmlBody: message.html, MessageStream: 'outbound' },
    }),
  },
};

/** A provider that does not answer within this is treated as failed (the mail is logged as not sent). */
const TIMEOUT_MS = 10_000;

export function createHttpMailer(settings: EmailApiSettings, from: string, fetcher: typeof fetch = fetch): Mailer {
  const provider = PROVIDERS[settings.provider];
  const base = (settings.apiUrl?.href ?? provider.base).replace(/\/+$/, '');
  return {
    async send(message) {
      const request = provider.request(base, settings.apiKey, from, message);
      const response = await fetcher(request.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...request.headers },
        body: JSON.stringify(request.body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      if (!response.ok) {
        const detail = (await response.text().catch(() => '')).slice(0, 300);
        throw new Error(`${settings.provider} refused the email (HTTP ${response.status}): ${detail}`);
      }
      // Postmark answers 200 with a non-zero ErrorCode for some refusals.
      if (settings.provider === 'postmark') {
        const answer = (await response.json().catch(() => null)) as { ErrorCode?: number; Message?: string } | null;
        if (answer?.ErrorCode) throw new Error(`postmark refused the email (ErrorCode ${answer.ErrorCode}): ${answer.Message ?? ''}`);
      } else {
        await response.body?.cancel();
      }
    },
  };
}
