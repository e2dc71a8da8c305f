// The emails' one layout: the site's look written inline (kept equal to the theme), the same
// words in both parts, the purchase's order number and amount as the site writes them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { siteNameOfShell } from '../http/page-shell.ts';
import { messagesFor } from '../i18n/index.ts';
import { EMAIL_LOOK, purchaseMessage, saleNotificationMessage } from './messages.ts';

const purchase = (locale: string, setPassword: { url: string; days: number } | null = null) =>
  purchaseMessage({
    t: messagesFor(locale),
    to: 'reader@example.com',
    siteName: 'Ada’s <Courses> & Co',
    courseTitle: 'Python Fundamentals',
    orderNumber: 'courses.example.com-42',
    startUrl: 'https://courses.example.com/courses/python/why/',
    loginUrl: 'https://courses.example.com/login',
    charge: { amountMinor: 3920, discountMinor: 980, currency: 'EUR' },
    setPassword,
  });

describe('the emails’ layout', () => {
  it('uses the light colours and font of src/styles/theme.css', () => {
    const theme = readFileSync('src/styles/theme.css', 'utf8');
    const root = theme.slice(theme.indexOf(':root'), theme.indexOf('@media'));
    const value = (name: string) => new RegExp(`--${name}:\\s*([^;]+);`).exec(root)?.[1]?.trim();
    expect(EMAIL_LOOK.font.replaceAll("'", '"')).toBe(value('font-body'));
    const colours: Record<string, keyof typeof EMAIL_LOOK> = {
      'color-bg': 'bg',
      'color-surface': 'surface',
      'color-text': 'text',
      'color-muted': 'muted',
      'color-border': 'border',
      'color-accent': 'accent',
      'color-accent-text': 'accentText',
      'color-link': 'link',
    };
    for (const [property, key] of Object.entries(colours)) expect(EMAIL_LOOK[key], property).toBe(value(property));
  });

  it('puts the order number and the amount in both parts, in the site’s language, and escapes the HTML', () => {
    const en = purchase('en-US');
    expect(en.subject).toBe('Your course "Python Fundamentals" at Ada’s <Courses> & Co is ready');
    expect(en.text).toContain('Order number: courses.example.com-42\nAmount paid: €39.20, after a discount of €9.80\n');
    expect(en.text.split('\n')[0]).toBe('Ada’s <Courses> & Co');
    expect(en.html).toContain('>courses.example.com-42</td>');
    expect(en.html).toContain('>€39.20, after a discount of €9.80</td>');
    expect(en.html).toContain('Ada’s &#60;Courses&#62; &#38; Co</a>');
    expect(en.html).not.toContain('<Courses>');
    expect(en.html).toContain('href="https://courses.example.com/"');

    const fr = purchase('fr-FR');
    expect(fr.subject).toBe('Votre cours «\u202fPython Fundamentals\u202f» sur Ada’s <Courses> & Co est prêt');
    expect(fr.text).toContain('Numéro de commande\u202f: courses.example.com-42\nMontant payé\u202f: 39,20\u00a0€, après une remise de 9,80\u00a0€\n');
    expect(fr.html).toContain('<html lang="fr-FR">');
  });

  it('keeps the set-password link as the first link of a new buyer’s text', () => {
    const mail = purchase('en-US', { url: 'https://courses.example.com/reset?token=t&welcome=1', days: 7 });
    expect(/https:\/\/\S+/.exec(mail.text)?.[0]).toBe('https://courses.example.com/reset?token=t&welcome=1');
    expect(mail.text).toContain('Order number: courses.example.com-42');
  });

  it('names the site and the order in the author’s sale notice', () => {
    const mail = saleNotificationMessage({
      t: messagesFor('en-US'),
      to: 'author@example.com',
      siteName: 'Practical Python',
      buyerEmail: 'reader@example.com',
      courseTitle: 'Python Fundamentals',
      courseSlug: 'python',
      orderNumber: 'courses.example.com-42',
      charge: { amountMinor: 4900, discountMinor: 0, currency: 'USD' },
      promotionCode: null,
      newAccount: false,
      memberUrl: 'https://courses.example.com/admin/members/3',
    });
    expect(mail.subject).toBe('New sale at Practical Python: Python Fundamentals ($49)');
    expect(mail.text).toContain('Order number: courses.example.com-42');
  });
});

describe('the site’s name for the core', () => {
  it('is read from the layout’s og:site_name, unescaped', () => {
    const head = '<html lang="en-US"><head><meta property="og:site_name" content="Ada&#39;s &amp; &quot;Co&quot; &lt;3">';
    expect(siteNameOfShell([head, { slot: 'main' }])).toBe('Ada\'s & "Co" <3');
    expect(siteNameOfShell(['<html><head>', { slot: 'main' }])).toBeNull();
    // As the build cuts the layout: the title's slot comes before the meta.
    expect(siteNameOfShell(['<head><title>', { slot: 'title' }, '</title><meta property="og:site_name" content="Practical Python">', { slot: 'main' }])).toBe(
      'Practical Python',
    );
  });
});
