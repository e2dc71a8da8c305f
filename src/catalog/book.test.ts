// A long programming book moved into a course folder as an author would (tests/fixtures/courses-book):
// the Markdown such books use, the anchors they link to, and the mistakes that are warnings
// rather than errors (docs/authoring.md).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseFenceInfo } from './code-fence.ts';
import { CatalogError, loadCatalog, type Problem } from './load.ts';
import { slugify } from './markdown.ts';

const BOOK = 'tests/fixtures/courses-book';

async function problemsOf(dir: string, strict = false): Promise<Problem[]> {
  try {
    const catalog = await loadCatalog(dir, { strict });
    return catalog.warnings;
  } catch (error) {
    if (error instanceof CatalogError) return error.problems;
    throw error;
  }
}

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'book-'));
  cpSync(join(BOOK, 'site.yaml'), join(dir, 'site.yaml'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}
const course = `---\ntitle: A course\ndescription: About it.\nprice: "10.00"\n---\nBody.\n`;
const lesson = (body: string) => `---\ntitle: A lesson\n---\n${body}\n`;

const lessonOf = async (slug: string) => (await loadCatalog(BOOK)).courses[0]!.lessons.find((l) => l.slug === slug)!;

describe('a book with the Markdown real books use', () => {
  it('builds, listing its warnings with file and line, and fails only when strict', async () => {
    const catalog = await loadCatalog(BOOK);
    expect(catalog.published.map((c) => c.slug)).toEqual(['rust-book']);
    const warnings = catalog.warnings.map((p) => `${p.file.replace(`${BOOK}/`, '')}:${p.line}: ${p.message.split(':')[0]}`);
    expect(warnings).toEqual([
      'rust-book/01-getting-started/01-installation.md:13: image img-missing-alt.svg has no alt text',
      'rust-book/01-getting-started/02-hello-world.md:28: code block attribute "run" ignored',
      'rust-book/course.md:6: "# The Rust Book" makes a second <h1> on the course page, whose title is its heading',
    ]);
    expect(catalog.warnings.every((p) => p.warning)).toBe(true);
    const strict = await problemsOf(BOOK, true);
    expect(strict).toHaveLength(3);
    await expect(loadCatalog(BOOK, { strict: true })).rejects.toBeInstanceOf(CatalogError);
  });

  it('makes heading ids as GitHub does, and resolves links to them across lessons and in raw HTML', async () => {
    expect(slugify('Where’s the -> Operator?')).toBe('wheres-the---operator');
    expect(slugify('snake_case and  spaces')).toBe('snake_case-and--spaces');
    const hello = await lessonOf('hello-world');
    expect(hello.headings.map((h) => h.id)).toEqual(['writing-and-running-a-rust-program', 'wheres-the---operator']);
    const ownership = await lessonOf('what-is-ownership');
    expect(ownership.html).toContain('<a href="/courses/rust-book/hello-world/#wheres-the---operator">the operator</a>');
    expect(ownership.html).toContain('<a href="/courses/rust-book/installation/#installing-rustup-on-linux-or-macos">raw link</a>');
  });

  it('reports a link to an anchor that its page lacks: Markdown, raw HTML, same page and another lesson', async () => {
    const dir = tree({
      'a/course.md': course,
      'a/01-one.md': lesson('## Where’s the `->` Operator?\n\n[same page](#no-such)\n\n<a href="02-two.md#missing">raw</a>\n\n[ok](02-two.md#snake_case)'),
      'a/02-two.md': lesson('## snake_case\n\n[back, squeezed](01-one.md#wheres-the-operator)\n\n<span id="kept"></span>[raw id](#kept)'),
    });
    const problems = (await problemsOf(dir)).map((p) => `${p.file.split('/').pop()}:${p.line}: ${p.message}`);
    expect(problems).toEqual([
      '01-one.md:6: link #no-such names no anchor of its page: heading ids are written as GitHub makes them (lower case, spaces to hyphens, punctuation dropped)',
      '01-one.md:8: link 02-two.md#missing names no anchor of its page: heading ids are written as GitHub makes them (lower case, spaces to hyphens, punctuation dropped)',
      '02-two.md:6: link 01-one.md#wheres-the-operator names no anchor of its page: did you mean #wheres-the---operator?',
    ]);
  });

  it('reads the language as the first word of a fence, and renders its caption, highlights and marks', async () => {
    expect(parseFenceInfo('rust,ignore')).toMatchObject({ language: 'rust', marks: [], unknown: [] });
    expect(parseFenceInfo('rust,should_panic')).toMatchObject({ language: 'rust', marks: ['panics'] });
    expect(parseFenceInfo('js run')).toMatchObject({ language: 'js', unknown: ['run'] });
    const info = parseFenceInfo('rust title="src/main.rs" {1,3-4} ignore,does_not_compile');
    expect(info).toMatchObject({ language: 'rust', title: 'src/main.rs', marks: ['does-not-compile'], unknown: [] });
    expect([...info.highlight]).toEqual([1, 3, 4]);
    const hello = await lessonOf('hello-world');
    expect(hello.html).toContain('<figure class="code"><figcaption>src/main.rs</figcaption>');
    expect(hello.html.match(/class="line highlighted"/g)).toHaveLength(3);
    expect(hello.html).toContain('<p class="code-mark does-not-compile">This code does not compile.</p>');
    expect(hello.html).toContain('<p class="code-mark panics">This code panics.</p>');
    // Highlighted as Rust, not shown as plain text.
    expect(hello.html).not.toMatch(/<pre[^>]*><code><span class="line"><span style="color:#0E1116;--shiki-dark:#F0F3F6">fn main/);
  });

  it('renders collapsible solutions without scripts, image sizes, dark-mode variants, and plain alt text', async () => {
    const hello = await lessonOf('hello-world');
    expect(hello.html).toContain('<details class="details">\n<summary>Solution</summary>\n<p>The answer is <strong>42</strong>.</p>\n</details>');
    expect(hello.html).toContain('<kbd>Ctrl</kbd>');
    const ownership = await lessonOf('what-is-ownership');
    expect(ownership.html).toMatch(/<img src="\/media\/[0-9a-f]{16}\.svg" width="240" height="120" alt="Stack and heap"/);
    expect(ownership.html).toMatch(/alt="Dark-ready diagram"[^>]* class="dark-ready"/);
    expect(ownership.html).toMatch(
      /<picture><source media="\(prefers-color-scheme: dark\)" srcset="[^"]+\.svg"><img [^>]*alt="A diagram with code &quot;quoted&quot;"[^>]*class="dark-ready"/,
    );
    // ![](x){decorative} and <img alt=""> are decorative, with no warning; raw HTML images are published too.
    expect(ownership.html).toMatch(/<img src="\/[^"]*\.svg" alt="" width="400" height="200" loading="lazy">/);
  });

  it('leaves code-like prose alone and ends autolinks before a trailing underscore', async () => {
    const installation = await lessonOf('installation');
    expect(installation.html).toContain('<code>...args</code>');
    const dir = tree({
      'a/course.md': course,
      'a/01-one.md': lesson('Spread ...args, loop for..of, run cargo build --release, wait... 1--2, a -- b.\n\nSee _https://example.com/a_b_ now.'),
    });
    const html = (await loadCatalog(dir)).courses[0]!.lessons[0]!.html;
    expect(html).toContain('Spread ...args, loop for..of, run cargo build --release, wait… 1–2, a – b.');
    expect(html).toContain('<em><a href="https://example.com/a_b">https://example.com/a_b</a></em>');
  });

  it('keeps a course stylesheet within its size limit', async () => {
    expect((await loadCatalog(BOOK)).courses[0]!.css).toContain('.ferris-note');
    const big = tree({ 'a/course.md': course, 'a/01-one.md': lesson('Text.'), 'a/course.css': `.x { color: red; }\n`.repeat(3000) });
    expect((await problemsOf(big)).map((p) => p.message)).toEqual([expect.stringMatching(/^course\.css is 5\d KB, over the 32 KB allowed/)]);
  });
});

describe('npm run check', () => {
  const run = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, ['scripts/check-courses.ts', ...args, BOOK], { encoding: 'utf8', env: { ...process.env, ...env } });

  it('lists warnings and passes; --strict (here as npm hands it over: npm run check --strict) makes them fail', () => {
    const plain = run({});
    expect(plain.status).toBe(0);
    expect(plain.stderr).toContain('01-installation.md:13: warning: image img-missing-alt.svg has no alt text');
    const npmStrict = run({ npm_config_strict: 'true' });
    expect(npmStrict.status).toBe(1);
    expect(npmStrict.stderr).toContain('3 warnings in the courses');
    expect(npmStrict.stderr).toContain('--strict: warnings fail too');
  });
});
