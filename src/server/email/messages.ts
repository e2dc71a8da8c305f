// The emails the site sends, each as plain text and as HTML with the same words.
import { escapeHtml } from '../http/responses.ts';
import type { EmailMessage } from './mailer.ts';

function layout(paragraphs: string[], action: { label: string; url: string }, siteName: string): string {
  const body = paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join('\n');
  return `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 36rem;">
${body}
<p><a href="${escapeHtml(action.url)}" style="display: inline-block; padding: 0.6rem 1.2rem; background: #1d4ed8; color: #fff; border-radius: 6px; text-decoration: none;">${escapeHtml(action.label)}</a></p>
<p style="color: #555; font-size: 0.875rem;">Or paste this address into your browser:<br>${escapeHtml(action.url)}</p>
<p style="color: #555; font-size: 0.875rem;">${escapeHtml(siteName)}</p>
</body></html>`;
}

function message(to: string, subject: string, paragraphs: string[], action: { label: string; url: string }, siteName: string): EmailMessage {
  const text = `${paragraphs.join('\n\n')}\n\n${action.label}:\n${action.url}\n\n-- \n${siteName}\n`;
  return { to, subject, text, html: layout(paragraphs, action, siteName) };
}

export function passwordResetMessage(options: { to: string; url: string; siteName: string; minutes: number }): EmailMessage {
  return message(
    options.to,
    `Reset your password for ${options.siteName}`,
    [
      'Someone (hopefully you) asked to reset the password of your account.',
      `The link below works once, for ${options.minutes} minutes. If you did not ask for it, ignore this email: your password stays as it is.`,
    ],
    { label: 'Choose a new password', url: options.url },
    options.siteName,
  );
}

export function signInLinkMessage(options: { to: string; url: string; siteName: string; minutes: number }): EmailMessage {
  return message(
    options.to,
    `Your sign-in link for ${options.siteName}`,
    [
      'Use the link below to sign in without your password.',
      `It works once, for ${options.minutes} minutes. If you did not ask for it, ignore this email.`,
    ],
    { label: 'Sign in', url: options.url },
    options.siteName,
  );
}

export function setPasswordMessage(options: { to: string; url: string; siteName: string; days: number; courseSlug: string }): EmailMessage {
  return message(
    options.to,
    `Your course is ready: set a password for ${options.siteName}`,
    [
      'Thank you for your purchase. Your course is in your account, which was created with this email address.',
      `Choose a password with the link below so you can sign in on any device. It works once, for ${options.days} days; after that, use "Forgot your password?" on the sign-in page.`,
    ],
    { label: 'Choose a password', url: options.url },
    options.siteName,
  );
}
