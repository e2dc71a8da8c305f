// The two Node mail transports: SMTP for production, and a development outbox folder that keeps
// each message as an .eml file (open it in any mail program) and prints its first link.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import type { EmailMessage, Mailer } from '../server/email/mailer.ts';

export function createSmtpMailer(smtpUrl: string, from: string): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(message: EmailMessage) {
      await transport.sendMail({ from, ...message });
    },
  };
}

export const OUTBOX_FOLDER = 'data/outbox';

export function createOutboxMailer(from: string, folder = resolve(OUTBOX_FOLDER)): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(message: EmailMessage) {
      const info = await transport.sendMail({ from, ...message });
      mkdirSync(folder, { recursive: true });
      const file = join(folder, `${new Date().toISOString().replace(/[:.]/g, '-')}-${crypto.randomUUID().slice(0, 8)}.eml`);
      writeFileSync(file, info.message as Buffer);
      const link = /https?:\/\/\S+/.exec(message.text)?.[0];
      console.log(`\n  Mail to ${message.to}: "${message.subject}"\n  saved as ${file}${link ? `\n  link: ${link}` : ''}\n`);
    },
  };
}
