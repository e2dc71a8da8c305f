// A real SMTP server for tests (the `smtp-server` package) that keeps every message it receives,
// decoded just enough to read the text and HTML parts and follow their links.
import { SMTPServer } from 'smtp-server';

export type ReceivedMail = { to: string[]; from: string; subject: string; text: string; html: string; raw: string };

export type SmtpSink = {
  url: string;
  messages: ReceivedMail[];
  /** The first mail to `to` after the `after`-th, whose subject matches `subject` when given. */
  waitFor(to: string, options?: { timeoutMs?: number; after?: number; subject?: RegExp }): Promise<ReceivedMail>;
  stop(): Promise<void>;
};

function unfoldHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const index = line.indexOf(':');
    if (index > 0) headers.set(line.slice(0, index).trim().toLowerCase(), line.slice(index + 1).trim());
  }
  return headers;
}

function decodeBody(body: string, encoding: string | undefined): string {
  const kind = (encoding ?? '7bit').toLowerCase();
  if (kind === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (kind === 'quoted-printable') {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

/**
 * RFC 2047 encoded words. A long subject is split into several, separated by a space that is not
 * part of the text, and one character's bytes may straddle two: a run is decoded as one.
 */
function decodeWords(value: string): string {
  const word = /=\?utf-8\?([bq])\?([^?]*)\?=/gi;
  return value.replace(/=\?utf-8\?[bq]\?[^?]*\?=(?:\s+=\?utf-8\?[bq]\?[^?]*\?=)*/gi, (run) => {
    const bytes = [...run.matchAll(word)].map(([, kind, text]) =>
      kind!.toLowerCase() === 'b'
        ? Buffer.from(text!, 'base64')
        : Buffer.from(
            text!.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16))),
            'latin1',
          ),
    );
    return Buffer.concat(bytes).toString('utf8');
  });
}

/** Collects the text/plain and text/html parts of a MIME entity, recursing into multiparts. */
function collectParts(entity: string, parts: { text: string; html: string }): void {
  const split = entity.search(/\r?\n\r?\n/);
  const headers = unfoldHeaders(split === -1 ? entity : entity.slice(0, split));
  const body = split === -1 ? '' : entity.slice(split).replace(/^\r?\n\r?\n/, '');
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (type.toLowerCase().startsWith('multipart/') && boundary) {
    for (const part of body.split(`--${boundary}`).slice(1)) {
      if (part.startsWith('--')) break;
      collectParts(part.replace(/^\r?\n/, ''), parts);
    }
    return;
  }
  const decoded = decodeBody(body, headers.get('content-transfer-encoding'));
  if (type.toLowerCase().startsWith('text/html')) parts.html += decoded;
  else if (type.toLowerCase().startsWith('text/plain')) parts.text += decoded;
}

export function parseMail(raw: string, to: string[], from: string): ReceivedMail {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = unfoldHeaders(raw.slice(0, split));
  const parts = { text: '', html: '' };
  collectParts(raw, parts);
  return { to, from, subject: decodeWords(headers.get('subject') ?? ''), text: parts.text, html: parts.html, raw };
}

export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const waiters = new Set<() => void>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const to = session.envelope.rcptTo.map((address) => address.address.toLowerCase());
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        messages.push(parseMail(Buffer.concat(chunks).toString('utf8'), to, from));
        for (const wake of waiters) wake();
        callback();
      });
    },
  });
  // A sender that dies in the middle of a message (a process killed by a load test) resets its
  // connection; like a real mail server, the sink drops that message and keeps serving. Without a
  // listener, smtp-server would throw the reset in the test process.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(to, options = {}) {
      const deadline = Date.now() + (options.timeoutMs ?? 10_000);
      const after = options.after ?? 0;
      for (;;) {
        const found = messages
          .slice(after)
          .find((message) => message.to.includes(to.toLowerCase()) && (!options.subject || options.subject.test(message.subject)));
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no mail to ${to} within the time limit (${messages.length} received)`);
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
          setTimeout(wake, 100);
        });
      }
    },
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
