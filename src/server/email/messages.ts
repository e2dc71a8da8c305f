// The emails the site sends, each as plain text and as HTML with the same words, in the site's
// language (the texts are in src/server/i18n/; `t` is the catalogue of the site's locale).
import { escapeHtml } from '../http/responses.ts';
import { formatMoney, type Texts } from '../i18n/index.ts';
import type { EmailMessage } from './mailer.ts';

/**
 * The site's look in an email: the light values of src/styles/theme.css, written out because mail
 * clients drop <style> and custom properties (messages.test.ts keeps the two equal).
 */
export const EMAIL_LOOK = {
  font: "ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif",
  bg: '#ffffff',
  surface: '#f6f7f9',
  text: '#1b1f24',
  muted: '#57606a',
  border: '#d8dee4',
  accent: '#1d4ed8',
  accentText: '#ffffff',
  link: '#1d4ed8',
} as const;

/** What every email says, in this order: the action's link is the first link of the text part. */
type Parts = {
  subject: string;
  paragraphs: string[];
  /** Labelled values (an order number, an amount), as a small table in HTML and lines in text. */
  facts?: Array<[label: string, value: string]>;
  action: { label: string; url: string };
  /** Paragraphs below the action. */
  after?: string[];
};

/**
 * The one layout of every email: the site's name as a header linking home, the words, the action
 * as a button and as an address to paste, and the site in the footer. Tables and inline styles
 * only, the HTML that mail clients render alike.
 */
function layout(t: Texts, siteName: string, home: string, parts: Parts): string {
  const L = EMAIL_LOOK;
  const paragraph = (text: string) => `<p style="margin: 0 0 16px;">${escapeHtml(text)}</p>`;
  const facts = parts.facts?.length
    ? `<table style="width: 100%; border-collapse: collapse; margin: 0 0 16px; background: ${L.surface}; border: 1px solid ${L.border};">
${parts.facts
  .map(
    ([label, value]) =>
      `<tr><th scope="row" style="padding: 8px 12px; text-align: left; font-weight: 600; border-bottom: 1px solid ${L.border};">${escapeHtml(label)}</th><td style="padding: 8px 12px; text-align: right; border-bottom: 1px solid ${L.border};">${escapeHtml(value)}</td></tr>`,
  )
  .join('\n')}
</table>`
    : '';
  const small = `font-size: 14px; color: ${L.muted};`;
  return `<!doctype html>
<html lang="${escapeHtml(t.locale)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(parts.subject)}</title></head>
<body style="margin: 0; padding: 0; background: ${L.surface};">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background: ${L.surface};"><tr><td align="center" style="padding: 24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width: 36rem; background: ${L.bg}; border: 1px solid ${L.border}; border-radius: 8px; font-family: ${escapeHtml(L.font)}; font-size: 16px; line-height: 1.6; color: ${L.text};">
<tr><td style="padding: 16px 24px; border-bottom: 1px solid ${L.border}; font-size: 18px; font-weight: 700;"><a href="${escapeHtml(home)}" style="color: ${L.text}; text-decoration: none;">${escapeHtml(siteName)}</a></td></tr>
<tr><td style="padding: 24px 24px 8px;">
${parts.paragraphs.map(paragraph).join('\n')}
${facts}
<p style="margin: 24px 0;"><a href="${escapeHtml(parts.action.url)}" style="display: inline-block; padding: 12px 24px; background: ${L.accent}; color: ${L.accentText}; border-radius: 8px; font-weight: 600; text-decoration: none;">${escapeHtml(parts.action.label)}</a></p>
<p style="margin: 0 0 16px; ${small}">${escapeHtml(t.email.pasteAddress)}<br><a href="${escapeHtml(parts.action.url)}" style="color: ${L.link}; word-break: break-all;">${escapeHtml(parts.action.url)}</a></p>
${(parts.after ?? []).map(paragraph).join('\n')}
</td></tr>
<tr><td style="padding: 16px 24px; border-top: 1px solid ${L.border}; ${small}"><a href="${escapeHtml(home)}" style="color: ${L.muted};">${escapeHtml(siteName)}</a></td></tr>
</table>
</td></tr></table>
</body></html>`;
}

/** The email in both parts: the same words, the text part readable as it is. */
function message(t: Texts, to: string, siteName: string, parts: Parts): EmailMessage {
  // Every action leads to the site, so its address gives the site's home for the header and footer.
  const home = new URL('/', parts.action.url).href;
  const facts = (parts.facts ?? []).map(([label, value]) => t.email.labelled(label, value));
  const text = [
    siteName,
    ...parts.paragraphs,
    ...(facts.length ? [facts.join('\n')] : []),
    `${t.email.beforeLink(parts.action.label)}\n${parts.action.url}`,
    ...(parts.after ?? []),
    `-- \n${siteName}\n${home}`,
  ].join('\n\n');
  return { to, subject: parts.subject, text: `${text}\n`, html: layout(t, siteName, home, parts) };
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
  return message(t, options.to, options.siteName, {
    subject: t.email.reset.subject(options.siteName),
    paragraphs: [t.email.reset.asked, t.email.reset.works(options.minutes)],
    action: { label: t.email.reset.action, url: options.url },
  });
}

export function signInLinkMessage(options: { t: Texts; to: string; url: string; siteName: string; minutes: number }): EmailMessage {
  const { t } = options;
  return message(t, options.to, options.siteName, {
    subject: t.email.link.subject(options.siteName),
    paragraphs: [t.email.link.use, t.email.link.works(options.minutes)],
    action: { label: t.email.link.action, url: options.url },
  });
}

/** Sent at sign-up (and when the member asks again): the link that proves the address. */
export function confirmEmailMessage(options: { t: Texts; to: string; url: string; resetUrl: string; siteName: string; days: number }): EmailMessage {
  const { t } = options;
  return message(t, options.to, options.siteName, {
    subject: t.email.confirm.subject(options.siteName),
    paragraphs: [t.email.confirm.created(options.siteName), t.email.confirm.ifYou(options.days)],
    action: { label: t.email.confirm.action, url: options.url },
    after: [t.email.confirm.notYou(options.resetUrl)],
  });
}

/** To the owner of an address when someone signs up with it again: sign-up itself says nothing. */
export function signUpAttemptMessage(options: { t: Texts; to: string; loginUrl: string; resetUrl: string; siteName: string }): EmailMessage {
  const { t } = options;
  return message(t, options.to, options.siteName, {
    subject: t.email.signUpAttempt.subject(options.siteName),
    paragraphs: [t.email.signUpAttempt.tried(options.siteName), t.email.signUpAttempt.ifYou],
    action: { label: t.email.signUpAttempt.action, url: options.loginUrl },
    after: [t.email.signUpAttempt.forgot(options.resetUrl), t.email.signUpAttempt.notYou],
  });
}

/** An account without a password (made by a purchase, a grant or an import), sent by the author. */
export function setPasswordMessage(options: { t: Texts; to: string; url: string; siteName: string; days: number }): EmailMessage {
  const { t } = options;
  return message(t, options.to, options.siteName, {
    subject: t.email.setPassword.subject(options.siteName),
    paragraphs: [t.email.setPassword.noPassword(options.siteName), t.email.setPassword.choose(options.days)],
    action: { label: t.email.setPassword.action, url: options.url },
  });
}

/**
 * To the buyer, once per purchase: what they bought, its order number and what it cost, where to
 * start and how to sign in. When the purchase created their account, it also carries the
 * set-password link (as its action, so that it is the one link they need) instead of a second
 * email. The order number is the one on the receipt and in the admin's purchases (orderNumber).
 */
export function purchaseMessage(options: {
  t: Texts;
  to: string;
  siteName: string;
  courseTitle: string;
  orderNumber: string;
  startUrl: string;
  loginUrl: string;
  charge: ChargedAmount;
  setPassword: { url: string; days: number } | null;
}): EmailMessage {
  const { t } = options;
  const texts = t.email.purchase;
  const facts: Parts['facts'] = [
    [texts.orderNumber, options.orderNumber],
    [texts.amount, describeCharge(t, options.charge)],
  ];
  if (options.setPassword) {
    return message(t, options.to, options.siteName, {
      subject: texts.subjectNewAccount(options.siteName),
      paragraphs: [texts.thanks(options.courseTitle), texts.inNewAccount(options.to), texts.choose(options.setPassword.days)],
      facts,
      action: { label: texts.chooseAction, url: options.setPassword.url },
      after: [texts.thenStart(options.startUrl), texts.later(options.loginUrl), texts.quote],
    });
  }
  return message(t, options.to, options.siteName, {
    subject: texts.subject(options.courseTitle, options.siteName),
    paragraphs: [texts.thanks(options.courseTitle), texts.toRead(options.loginUrl, options.to)],
    facts,
    action: { label: texts.startAction, url: options.startUrl },
    after: [texts.quote],
  });
}

/** To the author, once per purchase: who bought what, for how much, and where to see the member. */
export function saleNotificationMessage(options: {
  t: Texts;
  to: string;
  siteName: string;
  buyerEmail: string;
  courseTitle: string;
  courseSlug: string;
  orderNumber: string;
  charge: ChargedAmount;
  promotionCode: string | null;
  newAccount: boolean;
  memberUrl: string;
}): EmailMessage {
  const { t } = options;
  const texts = t.email.sale;
  return message(t, options.to, options.siteName, {
    subject: texts.subject(options.courseTitle, describeCharge(t, { ...options.charge, discountMinor: 0 }), options.siteName),
    paragraphs: [
      texts.bought(options.buyerEmail, options.courseTitle, options.courseSlug),
      texts.charged(describeCharge(t, options.charge), options.promotionCode),
      options.newAccount ? texts.newAccount : texts.existingAccount,
    ],
    facts: [[t.email.purchase.orderNumber, options.orderNumber]],
    action: { label: texts.action, url: options.memberUrl },
  });
}
