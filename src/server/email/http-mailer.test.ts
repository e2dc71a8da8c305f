// The HTTP email transport against a local server that checks each request the way the provider
// does (path, key header, JSON body with the provider's field names) and answers like it.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConfigError, parseConfig } from '../config.ts';
import { createHttpMailer } from './http-mailer.ts';

type Received = { method: string; path: string; headers: Record<string, string | string[] | undefined>; body: any };
let server: Server;
let base: string;
const received: Received[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const body = JSON.parse(raw || 'null');
      received.push({ method: req.method!, path: req.url!, headers: req.headers, body });
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (req.url === '/emails') {
        if (req.headers.authorization !== 'Bearer re_good') return json(401, { name: 'validation_error', message: 'API key is invalid' });
        if (!Array.isArray(body?.to) || !body.from || !body.subject || !body.html || !body.text) return json(422, { message: 'missing field' });
        return json(200, { id: 'email_1' });
      }
      if (req.url === '/email') {
        if (req.headers['x-postmark-server-token'] !== 'pm-good') return json(401, { ErrorCode: 10, Message: 'Bad or missing Server API token.' });
        if (body?.From !== 'Courses <courses@example.com>') return json(200, { ErrorCode: 400, Message: 'Sender signature not defined' });
        if (!body.To || !body.Subject || !body.HtmlBody || !body.TextBody) return json(422, { ErrorCode: 300, Message: 'Invalid email request' });
        return json(200, { ErrorCode: 0, Message: 'OK', MessageID: 'm-1' });
      }
      json(404, { message: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const message = { to: 'reader@example.com', subject: 'Your sign-in link', text: 'Open https://courses.example.com/x', html: '<p>Open</p>' };
const FROM = 'Courses <courses@example.com>';

describe('HTTP email transport', () => {
  it('sends through Resend with a bearer key and its field names', async () => {
    received.length = 0;
    await createHttpMailer({ provider: 'resend', apiKey: 're_good', apiUrl: new URL(base) }, FROM).send(message);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers['content-type']).toBe('application/json');
    expect(received[0]!.body).toEqual({ from: FROM, to: ['reader@example.com'], subject: message.subject, text: message.text, html: message.html });
  });

  it('sends through Postmark with its token header and field names', async () => {
    received.length = 0;
    await createHttpMailer({ provider: 'postmark', apiKey: 'pm-good', apiUrl: new URL(base) }, FROM).send(message);
    expect(received[0]!.body).toMatchObject({
      From: FROM,
      To: 'reader@example.com',
      TextBody: message.text,
      HtmlBody: message.html,
      MessageStream: 'outbound',
    });
  });

  it('throws with the provider’s reason when it refuses', async () => {
    await expect(createHttpMailer({ provider: 'resend', apiKey: 're_bad', apiUrl: new URL(base) }, FROM).send(message)).rejects.toThrow(
      /HTTP 401.*API key is invalid/,
    );
    // Postmark refuses some messages with 200 and a non-zero ErrorCode.
    await expect(createHttpMailer({ provider: 'postmark', apiKey: 'pm-good', apiUrl: new URL(base) }, 'x@other.example').send(message)).rejects.toThrow(
      /ErrorCode 400/,
    );
  });
});

describe('configuration of the mail transport per runtime', () => {
  const production = {
    NODE_ENV: 'production',
    SITE_URL: 'https://courses.example.com',
    SESSION_SECRET: 'Zq8vN3kLw1xR7tY5uP0oI9mB2nV6cX4zA',
    MAIL_FROM: FROM,
    STRIPE_SECRET_KEY: 'sk_live_x',
    STRIPE_WEBHOOK_SECRET: 'whsec_x',
  };
  const problems = (env: Record<string, string>, runtime: 'node' | 'workers') => {
    try {
      parseConfig(env, { runtime });
      return [];
    } catch (error) {
      return (error as ConfigError).problems;
    }
  };

  it('Workers require an email API or the send_email binding, and refuse SMTP and files', () => {
    expect(problems(production, 'workers')).toEqual([expect.stringMatching(/^EMAIL_PROVIDER: must be set in production/)]);
    expect(problems({ ...production, EMAIL_PROVIDER: 'resend', EMAIL_API_KEY: 're_x' }, 'workers')).toEqual([]);
    expect(problems({ ...production, EMAIL_PROVIDER: 'cloudflare' }, 'workers')).toEqual([]);
    expect(problems({ ...production, EMAIL_PROVIDER: 'cloudflare', SMTP_URL: 'smtps://a:b@h:465' }, 'node')).toContainEqual(
      expect.stringMatching(/^EMAIL_PROVIDER: `cloudflare` \(the send_email binding\) only exists on Workers/),
    );
    const wrong = problems(
      { ...production, EMAIL_PROVIDER: 'resend', EMAIL_API_KEY: 're_x', SMTP_URL: 'smtps://a:b@h:465', DATABASE_URL: 'file:x.db' },
      'workers',
    );
    expect(wrong).toEqual([expect.stringMatching(/^SMTP_URL: Workers cannot/), expect.stringMatching(/^DATABASE_URL: Workers have no files/)]);
  });

  it('refuses half an email API setting, an unknown provider and a plain-http API in production', () => {
    expect(problems({ ...production, EMAIL_PROVIDER: 'resend' }, 'workers')).toContainEqual(expect.stringMatching(/set both or neither/));
    expect(problems({ ...production, EMAIL_PROVIDER: 'mailgun', EMAIL_API_KEY: 'k' }, 'workers')).toContainEqual(expect.stringMatching(/^EMAIL_PROVIDER:/));
    expect(problems({ ...production, EMAIL_PROVIDER: 'resend', EMAIL_API_KEY: 'k', EMAIL_API_URL: 'http://127.0.0.1:9' }, 'workers')).toEqual([
      'EMAIL_API_URL: must be https in production',
    ]);
  });

  it('lets Node send through SMTP or the email API in production, and refuses neither', () => {
    expect(problems(production, 'node')).toEqual([expect.stringMatching(/^SMTP_URL \(or EMAIL_PROVIDER and EMAIL_API_KEY\): must be set in production/)]);
    expect(problems({ ...production, EMAIL_PROVIDER: 'postmark', EMAIL_API_KEY: 'k' }, 'node')).toEqual([]);
  });
});
