// The one way to the texts of the site's language: `messagesFor(locale)` at build time (Astro pages
// read `locale` from site.yaml) and `messagesOf(ctx)` at request time, where the site's language is
// the `lang` of the layout the build rendered (the page shell). Plain data and functions: no
// node:*, no astro, so the same catalogue serves Node, workerd and the build
// (docs/decisions/0017-message-catalogues.md). To add a language: a file typed `Messages` beside
// en.ts and fr.ts, and one line in CATALOGUES.
import type { PageShell } from '../http/page-shell.ts';
import { formatMinor } from '../money.ts';
import { en, type Messages } from './en.ts';
import { fr } from './fr.ts';

export type { Messages };

/** The catalogues by primary language subtag; a language without one reads English. */
export const CATALOGUES: Record<string, Messages> = { en, fr };

/** A catalogue with the locale its numbers, dates and prices are formatted in. */
export type Texts = Messages & { locale: string };

const cache = new Map<string, Texts>();

export function messagesFor(locale: string): Texts {
  let texts = cache.get(locale);
  if (!texts) {
    const language = locale.split('-')[0]!.toLowerCase();
    texts = { ...(CATALOGUES[language] ?? en), locale };
    cache.set(locale, texts);
  }
  return texts;
}

/** The texts of the site the request is for, from the language of its layout. */
export async function messagesOf(ctx: { pageShell(): Promise<PageShell> }): Promise<Texts> {
  return messagesFor(localeOfShell(await ctx.pageShell()));
}

/** The `lang` of the layout's `<html>`: the build writes the locale of site.yaml there. */
export function localeOfShell(shell: PageShell): string {
  const head = shell.find((piece): piece is string => typeof piece === 'string') ?? '';
  return /<html[^>]*\slang="([A-Za-z0-9-]+)"/.exec(head)?.[1] ?? 'en-US';
}

export function formatMoney(texts: Texts, minor: number, currency: string): string {
  return formatMinor(minor, currency, texts.locale);
}

/** A day as people of the site's language write it, e.g. "December 31, 2026" or "31 décembre 2026". */
export function formatDay(texts: Texts, at: number): string {
  return new Intl.DateTimeFormat(texts.locale, { dateStyle: 'long', timeZone: 'UTC' }).format(at);
}

/** A moment with its time and zone, e.g. "December 31, 2026 at 11:59 PM UTC". */
export function formatMoment(texts: Texts, at: number): string {
  return new Intl.DateTimeFormat(texts.locale, {
    year: 'numeric',
    month: 'long',
    day: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    timeZone: 'UTC',
    timeZoneName: 'short',
  }).format(at);
}

export function formatNumber(texts: Texts, value: number): string {
  return new Intl.NumberFormat(texts.locale).format(value);
}
