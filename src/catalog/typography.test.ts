// The site's language sets the Markdown typographer's conventions: French gets « » and a narrow
// no-break space before : ; ! ?, code keeps what the author typed, English is unchanged.
import { describe, expect, it } from 'vitest';
import { MarkdownRenderer, type RenderContext } from './markdown.ts';
import { MediaRegistry } from './media.ts';

const renderer = MarkdownRenderer.create();

async function render(body: string, locale: string): Promise<string> {
  const ctx: RenderContext = {
    file: '/tmp/lesson.md',
    displayFile: 'lesson.md',
    lineOffset: 0,
    targets: new Map(),
    media: new MediaRegistry(),
    problems: [],
    fragments: [],
    course: 'c',
    locale,
  };
  return (await (await renderer).render(body, ctx)).html;
}

describe('Markdown typography by locale', () => {
  const body = 'Il dit "bonjour" : vraiment ? Oui ; enfin! À 12:30, voir https://example.com/?q=1.\n\n`a ? b : c` et\n\n```python\nx = {"a": 1}  # ok ?\n```\n';

  it('French: « » quotes and U+202F before : ; ! ?, outside code only', async () => {
    const html = await render(body, 'fr-FR');
    expect(html).toContain('Il dit «\u202fbonjour\u202f»\u202f: vraiment\u202f? Oui\u202f; enfin\u202f!');
    expect(html).toContain('12:30');
    expect(html).toContain('?q=1');
    expect(html).toContain('<code>a ? b : c</code>');
    expect(html).not.toMatch(/"a"\u202f:|ok\u202f\?/);
  });

  it('names a table’s scrolling region in the site’s language', async () => {
    const table = '| a |\n|---|\n| 1 |\n';
    expect(await render(table, 'fr-FR')).toContain('aria-label="Tableau"');
    expect(await render(table, 'en-US')).toContain('aria-label="Table"');
  });

  it('English: curly quotes, spacing as written', async () => {
    const html = await render(body, 'en-US');
    expect(html).toContain('Il dit “bonjour” : vraiment ? Oui ; enfin!');
    expect(html).not.toContain('\u202f');
  });
});
