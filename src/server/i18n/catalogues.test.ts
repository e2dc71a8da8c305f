// Every catalogue has every key of the English one, with the same shape (text, function, markup),
// and the French one follows French typography. The type check already refuses a missing key;
// this catches what types cannot: an empty text, a catalogue added to CATALOGUES untyped.
import { describe, expect, it } from 'vitest';
import { SafeHtml } from '../http/html.ts';
import { en } from './en.ts';
import { CATALOGUES, localeOfShell, messagesFor } from './index.ts';

type Leaf = { path: string; kind: string; text: string };

/** Every text of a catalogue, functions called with sample values. */
function leaves(node: unknown, path = ''): Leaf[] {
  if (typeof node === 'string') return [{ path, kind: 'text', text: node }];
  if (node instanceof SafeHtml) return [{ path, kind: 'html', text: node.value }];
  if (typeof node === 'function') {
    const args = Array.from({ length: node.length }, (_, index) => (index === 0 ? 7 : 'x'));
    const out = (node as (...a: unknown[]) => unknown)(...args);
    return [{ path, kind: `function/${node.length}`, text: out instanceof SafeHtml ? out.value : String(out) }];
  }
  return Object.entries(node as Record<string, unknown>).flatMap(([key, value]) => leaves(value, `${path}.${key}`));
}

describe('message catalogues', () => {
  const english = leaves(en);

  for (const [language, catalogue] of Object.entries(CATALOGUES)) {
    it(`${language} has every key of the English catalogue, of the same kind, none empty`, () => {
      const own = leaves(catalogue);
      expect(own.map(({ path, kind }) => `${path} ${kind}`)).toEqual(english.map(({ path, kind }) => `${path} ${kind}`));
      expect(own.filter((leaf) => leaf.text.trim() === '').map((leaf) => leaf.path)).toEqual([]);
    });
  }

  it('French puts a narrow no-break space before : ; ! ? and inside « », and has no English quotes', () => {
    const french = leaves(CATALOGUES.fr).map((leaf) => ({ ...leaf, text: leaf.text.replace(/<[^>]*>/g, '').replace(/https?:\/\/\S+/g, '') }));
    const bad = french.filter(({ text }) => /[^\u202f][:;!?](?=\s|$)/.test(text) || /«(?!\u202f)|(?<!\u202f)»/.test(text) || /"/.test(text));
    expect(bad.map((leaf) => `${leaf.path}: ${leaf.text}`)).toEqual([]);
  });

  it('a locale reads its language’s catalogue, and any other language reads English', () => {
    expect(messagesFor('fr-FR').auth.signInTitle).toBe('Connexion');
    expect(messagesFor('fr-CA').locale).toBe('fr-CA');
    expect(messagesFor('de-DE').auth.signInTitle).toBe('Sign in');
  });

  it('reads the site’s locale from the layout the build rendered', () => {
    expect(localeOfShell(['<!doctype html>\n<html lang="fr-FR" class="x"><head>', { slot: 'main' }, '</html>'])).toBe('fr-FR');
    expect(localeOfShell(['<html><head>', { slot: 'main' }])).toBe('en-US');
  });
});
