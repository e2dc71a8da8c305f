// The emails the site sends, each as plain text and as HTML with the same words.
import { escapeHtml } from '../http/responses.ts';
import { formatMinor } from '../money.ts';
import type { EmailMessage } from './mailer.ts';

function layout(paragraphs: string[], action: { label: string; url: string }, siteName: string, after: string[]): string {
  const html = (list: string[]) => list.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join('\n');
  return `<!doctype html>
<html><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 36rem;">
${html(paragraphs)}
<p><a href="${escapeHtml(action.url)}" style="display: inline-block; padding: 0.6rem 1.2rem; background: #1d4ed8; color: #fff; border-radius: 6px; text-decoration: none;">${escapeHtml(action.label)}</a></p>
<p style="color: #555; font-size: 0.875rem;">Or paste this address into your browser:<br>${escapeHtml(action.url)}</p>
${html(after)}
<p style="color: #555; font-size: 0.875rem;">${escapeHtml(siteName)}</p>
</body></html>`;
}

/** `after`: paragraphs below the action, so that the action's link is the first in the text. */
function message(to: string, subject: string, paragraphs: string[], action: { label: string; url: string }, siteName: string, after: string[] = []): EmailMessage {
  const text = `${paragraphs.join('\n\n')}\n\n${action.label}:\n${action.url}\n\n${after.map((p) => `${p}\n\n`).join('')}-- \n${siteName}\n`;
  return { to, subject, text, html: layout(paragraphs, action, siteName, after) };
}

/** A purchase as the emails tell it: what was charged, and the discount when a code took some off. */
export type ChargedAmount = { amountMinor: number; discountMinor: number; currency: string };

/** "$39.20 (after a $9.80 discount)"; the emails' locale is fixed, the currency is the buyer's. */
export function describeCharge(charge: ChargedAmount): string {
  const amount = charge.amountMinor === 0 ? `nothing (${formatMinor(0, charge.currency, 'en-US')})` : formatMinor(charge.amountMinor, charge.currency, 'en-US');
  return charge.discountMinor > 0 ? `${amount}, after a discount of ${formatMinor(charge.discountMinor, charge.currency, 'en-US')}` : amount;
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

/** Sent at sign-up (and when the member asks again): the link that proves the address. */
export function confirmEmailMessage(options: { to: string; url: string; resetUrl: string; siteName: string; days: number }): EmailMessage {
  return message(
    options.to,
    `Confirm your email address for ${options.siteName}`,
    [
      `Someone (hopefully you) created an account at ${options.siteName} with this email address.`,
      `If it was you, confirm the address with the link below to finish: you will be asked for the password you chose, then signed in. It works once, for ${options.days} days. Courses bought for this address without signing in, or given to it, open once it is confirmed.`,
    ],
    { label: 'Confirm my email address', url: options.url },
    options.siteName,
    [
      `If you did not create this account, do not confirm it. To make the account yours, choose your own password at ${options.resetUrl}: whoever created it is signed out and their password stops working.`,
    ],
  );
}

/** To the owner of an address when someone signs up with it again: sign-up itself says nothing. */
export function signUpAttemptMessage(options: { to: string; loginUrl: string; resetUrl: string; siteName: string }): EmailMessage {
  return message(
    options.to,
    `Someone tried to create an account at ${options.siteName} with your address`,
    [
      `Someone (maybe you) tried to create an account at ${options.siteName} with this email address, which already has one. Nothing was changed.`,
      'If it was you, sign in with the link below, or choose a new password if you forgot it.',
    ],
    { label: 'Sign in', url: options.loginUrl },
    options.siteName,
    [`Forgot your password? ${options.resetUrl}`, 'If it was not you, you can ignore this email.'],
  );
}

/** An account without a password (made by a purchase, a grant or an import), sent by the author. */
export function setPasswordMessage(options: { to: string; url: string; siteName: string; days: number }): EmailMessage {
  return message(
    options.to,
    `Your account at ${options.siteName}: set a password`,
    [
      `Your account at ${options.siteName} has no password yet. Your courses are in it.`,
      `Choose a password with the link below so you can sign in on any device. It works once, for ${options.days} days; after that, use "Forgot your password?" on the sign-in page.`,
    ],
    { label: 'Choose a password', url: options.url },
    options.siteName,
  );
}

/**
 * To the buyer, once per purchase: what they bought, what it cost, where to start and how to sign
 * in. When the purchase created their account, it also carries the set-password link (as its
 * action, so that it is the one link they need) instead of a second email.
 */
export function purchaseMessage(options: {
  to: string;
  siteName: string;
  courseTitle: string;
  startUrl: string;
  loginUrl: string;
  charge: ChargedAmount;
  setPassword: { url: string; days: number } | null;
}): EmailMessage {
  const thanks = `Thank you for buying "${options.courseTitle}". You were charged ${describeCharge(options.charge)}.`;
  if (options.setPassword) {
    return message(
      options.to,
      `Your course is ready: set a password for ${options.siteName}`,
      [
        thanks,
        `Your course is in your account, which was created with this email address (${options.to}).`,
        `Choose a password with the link below so you can sign in on any device. It works once, for ${options.setPassword.days} days.`,
      ],
      { label: 'Choose a password', url: options.setPassword.url },
      options.siteName,
      [
        `Then start the course here: ${options.startUrl}`,
        `Later, sign in at ${options.loginUrl} with this email address and your password. If the link above has expired, use "Forgot your password?" there.`,
      ],
    );
  }
  return message(
    options.to,
    `Your course "${options.courseTitle}" is ready`,
    [
      thanks,
      `To read it, sign in at ${options.loginUrl} with this email address (${options.to}) and your password, or ask there for a sign-in link by email. The course stays in your account.`,
    ],
    { label: 'Start the course', url: options.startUrl },
    options.siteName,
  );
}

/** To the author, once per purchase: who bought what, for how much, and where to see the member. */
export function saleNotificationMessage(options: {
  to: string;
  siteName: string;
  buyerEmail: string;
  courseTitle: string;
  courseSlug: string;
  charge: ChargedAmount;
  promotionCode: string | null;
  newAccount: boolean;
  memberUrl: string;
}): EmailMessage {
  return message(
    options.to,
    `New sale: ${options.courseTitle} (${describeCharge({ ...options.charge, discountMinor: 0 })})`,
    [
      `${options.buyerEmail} bought "${options.courseTitle}" (${options.courseSlug}).`,
      `Charged: ${describeCharge(options.charge)}${options.promotionCode ? `, with the promotion code ${options.promotionCode}` : ''}.`,
      options.newAccount ? 'The purchase created their account; they were sent a link to choose a password.' : 'They bought with their existing account.',
    ],
    { label: 'See the member', url: options.memberUrl },
    options.siteName,
  );
}
