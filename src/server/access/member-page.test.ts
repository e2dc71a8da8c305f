import { describe, expect, test } from 'vitest';
import { injectMemberState, joinParts, PageCache, preparePage, PROGRESS_MARKER, renderPage } from './member-page.ts';

const PAGE = [
  '<header><a href="/account/" data-account-link>Account</a></header>',
  '<nav><a href="/courses/c/one/" data-lesson="one">One</a><a href="/courses/c/two/" data-lesson="two" aria-current="page">Two ✓ é</a>',
  '<a href="/courses/c/three/" data-lesson="three">Three</a></nav>',
  `<article><p>data-lesson="one" in text stays</p>${PROGRESS_MARKER}<p>${PROGRESS_MARKER}</p></article>`,
].join('');

const state = { course: 'c', lesson: 'two', done: new Set(['one', 'three']), email: 'a$&b@example.com' };

describe('a member page', () => {
  test('marks completed lessons, puts in the form and the account link, and keeps the rest', () => {
    const html = injectMemberState(PAGE, state);
    expect(html).toContain('data-lesson="one" data-done>One');
    expect(html).toContain('data-lesson="two" aria-current="page">Two ✓ é');
    expect(html).toContain('data-lesson="three" data-done>Three');
    expect(html).toContain('<button class="button" type="submit">Complete and continue</button>');
    expect(html).toContain('<input type="hidden" name="done" value="1">');
    // `$&` in an email is text, not a replacement pattern; the email is escaped.
    expect(html).toContain('data-account-link data-signed-in>a$&#38;b@example.com</a>');
    // Only the first marker is the form's place.
    expect(html.split('<form').length).toBe(2);
    expect(html).toContain(`<p>${PROGRESS_MARKER}</p>`);
    // Everything but the inserts is the page as stored.
    const stripped = html
      .replaceAll(' data-done', '')
      .replace(/<form[\s\S]*?<\/form>/, PROGRESS_MARKER)
      .replace('data-account-link data-signed-in>a$&#38;b@example.com</a>', 'data-account-link>Account</a>');
    expect(stripped).toBe(PAGE);
  });

  test('a completed lesson offers the undo', () => {
    const html = injectMemberState(PAGE, { ...state, lesson: 'one' });
    expect(html).toContain('Completed ✓ (undo)');
    expect(html).toContain('<input type="hidden" name="done" value="0">');
  });

  test('a page without hooks is served as it is, and renders are independent', () => {
    expect(injectMemberState('<p>plain é</p>', state)).toBe('<p>plain é</p>');
    const page = preparePage('h', PAGE);
    const first = renderPage(page, state);
    expect(first.bytes).toBe(new TextEncoder().encode(injectMemberState(PAGE, state)).byteLength);
    const text = new TextDecoder().decode(joinParts(first));
    renderPage(page, { ...state, done: new Set(), email: 'x@example.com' });
    expect(new TextDecoder().decode(joinParts(renderPage(page, state)))).toBe(text);
  });

  test('the cache drops the least recently used pages past its size', () => {
    const cache = new PageCache(3000);
    const page = (n: number) => preparePage(String(n), 'x'.repeat(1000));
    cache.set('a', page(1));
    cache.set('b', page(2));
    cache.set('c', page(3));
    cache.touch('a', cache.get('a')!);
    cache.set('d', page(4));
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')?.hash).toBe('1');
    expect(cache.size).toBe(3);
    cache.set('a', page(5));
    expect(cache.get('a')?.hash).toBe('5');
    expect(cache.size).toBe(3);
    cache.set('huge', preparePage('6', 'x'.repeat(4000)));
    expect(cache.get('huge')).toBeUndefined();
  });
});
