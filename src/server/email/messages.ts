// The emails the site sends, each as plain text and as HTML with the same words, in the site's
// language (the texts are in src/server/i18n/; `t` is the catalogue of the site's locale).
import { escapeHtml } from '../http/responses.ts';
import { formatMoney, type Texts } from '../i18n/index.ts';
import type { EmailMessage } from './mailer.ts';

function layout(t: Texts, paragraphs: string[], action: { label: string; url: string }, siteName: string, after: string[]): string {
  const html = (list: string[]) => list.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join('\n');
  return `<!doctype html>
<html lang="${escapeHtml(t.locale)}"><body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a; max-width: 36rem;">
${html(paragraphs)}
<p><a href="${escapeHtml(action.url)}" style="display: inline-block; padding: 0.6rem 1.2rem; background: #1d4ed8; color: #fff; border-radius: 6px; text-decoration: none;">${escapeHtml(action.label)}</a></p>
<p style="color: #555; font-size: 0.875rem;">${escapeHtml(t.email.pasteAddress)}<br>${escapeHtml(action.url)}</p>
${html(after)}
<p style="color: #555; font-size: 0.875rem;">${escapeHtml(siteName)}</p>
</body></html>`;
}

/** `after`: paragraphs below the action, so that the action's link is the first in the text. */
function message(
  t: Texts,
  to: string,
  subject: string,
  paragraphs: string[],
  action: { label: string; url: string },
  siteName: string,
  after: string[] = [],
): EmailMessage {
  const text = `${paragraphs.join('\n\n')}\n\n${t.email.beforeLink(action.label)}\n${action.url}\n\n${after.map((p) => `${p}\n\n`).join('')}-- \n${siteName}\n`;
  return { to, subject, text, html: layout(t, paragraphs, action, siteName, after) };
}

/** A purchase as the emails tell it: what was charged, and the discount when a code took some off. */
export type ChargedAmount = { amountMinor: number; discountMinor: number; currency: string };

/** "$39.20, after a discount of $9.80", in the site's locale; the currency is the buyer's. */
export function describeCharge(t: Texts, charge: ChargedAmount): string {
  const amount = charge.amountMinor === 0 ? t.email.nothingCharged(formatMoney(t, 0, charge.currency)) : formatMoney(t, charge.amountMinor, charge.currency);
  return charge.discountMinor > 0 ? t.email.afterDiscount(amount, formatMoney(t, charge.discountMinor, charge.currency)) : amount;
}

export function passwordResetMessage(options: { t: Texts; to: string; url: string; siteName: string; minutes: number }): EmailMessage {
  const { t } = options;
  return message(
    t,
    options.to,
    t.email.reset.subject(options.siteName),
    [t.email.reset.asked, t.email.reset.works(options.minutes)],
    { label: t.email.reset.action, url: options.url },
    options.siteName,
  );
}

export function signInLinkMessage(options: { t: Texts; to: string; url: string; siteName: string; minutes: number }): EmailMessage {
  const { t } = options;
  return message(
    t,
    options.to,
    t.email.link.subject(options.siteName),
    [t.email.link.use, t.email.link.works(options.minutes)],
    { label: t.email.link.action, url: options.url },
    options.siteName,
  );
}

/** Sent at sign-up (and when the member asks again): the link that proves the address. */
export function confirmEmailMessage(options: { t: Texts; to: string; url: string; resetUrl: string; siteName: string; days: number }): EmailMessage {
  const { t } = options;
  return message(
    t,
    options.to,
    t.email.confirm.subject(options.siteName),
    [t.email.confirm.created(options.siteName), t.email.confirm.ifYou(options.days)],
    { label: t.email.confirm.action, url: options.url },
    options.siteName,
    [t.email.confirm.notYou(options.resetUrl)],
  );
}

/** To the owner of an address when someone signs up with it again: sign-up itself says nothing. */
export function signUpAttemptMessage(options: { t: Texts; to: string; loginUrl: string; resetUrl: string; siteName: string }): EmailMessage {
  const { t } = options;
  return message(
    t,
    options.to,
    t.email.signUpAttempt.subject(options.siteName),
    [t.email.signUpAttempt.tried(options.siteName), t.email.signUpAttempt.ifYou],
    { label: t.email.signUpAttempt.action, url: options.loginUrl },
    options.siteName,
    [t.email.signUpAttempt.forgot(options.resetUrl), t.email.signUpAttempt.notYou],
  );
}

/** An account without a password (made by a purchase, a grant or an import), sent by the author. */
export function setPasswordMessage(options: { t: Texts; to: string; url: string; siteName: string; days: number }): EmailMessage {
  const { t } = options;
  return message(
    t,
    options.to,
    t.email.setPassword.subject(options.siteName),
    [t.email.setPassword.noPassword(options.siteName), t.email.setPassword.choose(options.days)],
    { label: t.email.setPassword.action, url: options.url },
    options.siteName,
  );
}

/**
 * To the buyer, once per purchase: what they bought, what it cost, where to start and how to sign
 * in. When the purchase created their account, it also carries the set-password link (as its
 * action, so that it is the one link they need) instead of a second email.
 */
export function purchaseMessage(options: {
  t: Texts;
  to: string;
  siteName: string;
  courseTitle: string;
  startUrl: string;
  loginUrl: string;
  charge: ChargedAmount;
  setPassword: { url: string; days: number } | null;
}): EmailMessage {
  const { t } = options;
  const texts = t.email.purchase;
  const thanks = texts.thanks(options.courseTitle, describeCharge(t, options.charge));
  if (options.setPassword) {
    return message(
      t,
      options.to,
      texts.subjectNewAccount(options.siteName),
      [thanks, texts.inNewAccount(options.to), texts.choose(options.setPassword.days)],
      { label: texts.chooseAction, url: options.setPassword.url },
      options.siteName,
      [texts.thenStart(options.startUrl), texts.later(options.loginUrl)],
    );
  }
  return message(
    t,
    options.to,
    texts.subject(options.courseTitle),
    [thanks, texts.toRead(options.loginUrl, options.to)],
    { label: texts.startAction, url: options.startUrl },
    options.siteName,
  );
}

/** To the author, once per purchase: who bought what, for how much, and where to see the member. */
export function saleNotificationMessage(options: {
  t: Texts;
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
  const { t } = options;
  const texts = t.email.sale;
  return message(
    t,
    options.to,
    texts.subject(options.courseTitle, describeCharge(t, { ...options.charge, discountMinor: 0 })),
    [
      texts.bought(options.buyerEmail, options.courseTitle, options.courseSlug),
      texts.charged(describeCharge(t, options.charge), options.promotionCode),
      options.newAccount ? texts.newAccount : texts.existingAccount,
    ],
    { label: texts.action, url: options.memberUrl },
    options.siteName,
  );
}
