// A stand-in of an HTTP email API (Resend's shape: a JSON POST to /emails) that keeps what it
// receives: the Worker mails through such an API where the Node server speaks SMTP to the sink
// in smtp-sink.ts. It answers as the API does, so the site does not know it talks to a stand-in.
import { createServer } from 'node:http';

export type ApiMail = { authorization: string | undefined; body: { from: string; to: string[]; subject: string; text: string; html: string } };

export type EmailApiSink = {
  /** The EMAIL_API_URL to give the site. */
  url: string;
  messages: ApiMail[];
  /** The first mail to `to` after the `after`-th whose subject matches `subject`, as its body. */
  waitFor(to: string, options?: { after?: number; subject?: RegExp; timeoutMs?: number }): Promise<ApiMail['body']>;
  stop(): Promise<void>;
};

export async function startEmailApiSink(): Promise<EmailApiSink> {
  const messages: ApiMail[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/emails' || req.headers['content-type'] !== 'application/json') {
        res.writeHead(404).end();
        return;
      }
      messages.push({ authorization: req.headers.authorization, body: JSON.parse(raw) });
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"id":"sink"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    messages,
    async waitFor(to, { after = 0, subject, timeoutMs = 10_000 } = {}) {
      for (const deadline = Date.now() + timeoutMs; ; await new Promise((resolve) => setTimeout(resolve, 50))) {
        const mail = messages.slice(after).find((item) => item.body.to.includes(to) && (!subject || subject.test(item.body.subject)));
        if (mail) return mail.body;
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within the time limit (${messages.length} received)`);
      }
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
