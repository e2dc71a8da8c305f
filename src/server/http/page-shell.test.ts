import { describe, expect, it } from 'vitest';
import { html, raw } from './html.ts';
import { parsePageShell, renderPage, SHELL_DESCRIPTION, SHELL_MAIN, SHELL_TITLE } from './page-shell.ts';

const layout = `<html><head><title>${SHELL_TITLE} · Site</title><meta name="description" content="${SHELL_DESCRIPTION}"><meta property="og:title" content="${SHELL_TITLE}"></head><body><main>${SHELL_MAIN}</main></body></html>`;

describe('html', () => {
  it('escapes every value unless it is markup made by html or raw', () => {
    const hostile = `<script>alert("x")</script>&'`;
    const out = html`<p title="${hostile}">${hostile}${[html`<b>${hostile}</b>`, hostile]}${raw('<i>ok</i>')}</p>`.value;
    expect(out).not.toContain('<script>');
    expect(out).not.toContain('"x"');
    expect(out).toContain('<b>&#60;script&#62;');
    expect(out).toContain('<i>ok</i>');
  });

  it('renders nothing for null, undefined and booleans, and numbers as text', () => {
    expect(html`${null}${undefined}${false}${true}${0}${12}`.value).toBe('012');
  });
});

describe('page shell', () => {
  it('puts the escaped title and description everywhere the layout has them, and the content once', async () => {
    const response = renderPage(parsePageShell(layout), {
      title: 'A <b> & "c"',
      description: 'D "e"',
      main: html`<h1>${'x'}</h1>`,
      status: 404,
      setCookies: ['a=1', 'b=2'],
      headers: { 'X-Test': 'yes' },
    });
    const body = await response.text();
    expect(body).toBe(
      '<html><head><title>A &#60;b&#62; &#38; &#34;c&#34; · Site</title><meta name="description" content="D &#34;e&#34;"><meta property="og:title" content="A &#60;b&#62; &#38; &#34;c&#34;"></head><body><main><h1>x</h1></main></body></html>',
    );
    expect(response.status).toBe(404);
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(response.headers.get('x-test')).toBe('yes');
  });

  it('does not read a dollar sign in content as a replacement pattern', async () => {
    const body = await renderPage(parsePageShell(layout), { title: '$&', description: "$'", main: raw('$1 $$') }).text();
    expect(body).toContain('<title>$&#38; · Site</title>');
    expect(body).toContain('<main>$1 $$</main>');
  });

  it('refuses a layout without the content marker', () => {
    expect(() => parsePageShell('<html></html>')).toThrow(/rebuild/);
  });
});
