import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CatalogError, loadCatalog, type Problem } from './load.ts';

const GOOD = 'tests/fixtures/courses-good';
const BROKEN = 'tests/fixtures/courses-broken';

async function problemsOf(dir: string): Promise<Problem[]> {
  try {
    await loadCatalog(dir);
  } catch (error) {
    if (error instanceof CatalogError) return error.problems;
    throw error;
  }
  throw new Error(`${dir} loaded without problems`);
}

/** A courses folder in a temporary directory, from a map of relative paths to contents. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'courses-'));
  cpSync(join(GOOD, 'site.yaml'), join(dir, 'site.yaml'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const course = (front: string) => `---\ntitle: A course\ndescription: About it.\nprice: "10.00"\n${front}---\nBody.\n`;
const lesson = (front: string, body = 'Text.') => `---\ntitle: A lesson\n${front}---\n${body}\n`;

describe('a valid courses folder', () => {
  it('orders courses, sections and lessons by their numbers and drops drafts', async () => {
    const catalog = await loadCatalog(GOOD);
    expect(catalog.courses.map((c) => [c.slug, c.published])).toEqual([
      ['tiny-course', true],
      ['hidden-course', false],
    ]);
    expect(catalog.published.map((c) => c.slug)).toEqual(['tiny-course']);
    const tiny = catalog.courses[0]!;
    expect(tiny.currency).toBe('EUR');
    expect(tiny.price).toBe('19.50');
    expect(tiny.priceMinor).toBe(1950);
    expect(tiny.sections.map((s) => [s.title, s.lessons.map((l) => l.slug)])).toEqual([
      ['The basics', ['welcome', 'setup']],
      [null, ['wrap-up']],
      ['Advanced', ['deep-dive']],
    ]);
    expect(tiny.lessons.map((l) => [l.url, l.position, l.preview])).toEqual([
      ['/courses/tiny-course/welcome/', 1, true],
      ['/courses/tiny-course/setup/', 2, false],
      ['/courses/tiny-course/wrap-up/', 3, false],
      ['/courses/tiny-course/deep-dive/', 4, false],
    ]);
    expect(JSON.stringify(tiny)).not.toContain('DRAFT-MARKER');
    expect(tiny.duration).toBe(5 + 12 + 1 + 7);
  });

  it('resolves links between lessons and to the course page', async () => {
    const tiny = (await loadCatalog(GOOD)).courses[0]!;
    const [welcome, setup, wrapUp] = tiny.lessons;
    expect(welcome!.html).toContain('<a href="/courses/tiny-course/setup/#install">next lesson</a>');
    expect(setup!.html).toContain('<a href="/courses/tiny-course/welcome/">welcome</a>');
    expect(wrapUp!.html).toContain('<a href="/courses/tiny-course/">the course</a>');
    expect(setup!.html).toMatch(/<a href="\/courses\/tiny-course\/media\/[0-9a-f]{16}-sample\.csv" download="sample\.csv">sample data<\/a>/);
  });

  it('renders images with dimensions, alt text and lazy loading, and highlights code without scripts', async () => {
    const welcome = (await loadCatalog(GOOD)).courses[0]!.lessons[0]!;
    expect(welcome.html).toMatch(/<img src="\/media\/[0-9a-f]{16}-800\.webp"[^>]* width="800" height="400" alt="flow diagram" loading="lazy"/);
    expect(welcome.html).toContain('<source type="image/avif"');
    expect(welcome.html).toContain('class="shiki');
    expect(welcome.html).not.toContain('<script');
    expect(welcome.html).toContain('class="footnotes"');
    expect(welcome.html).toContain('<div class="table-scroll"');
  });

  it('publishes only the media of public pages', async () => {
    const catalog = await loadCatalog(GOOD);
    const [welcome, setup] = catalog.courses[0]!.lessons;
    expect(setup!.media.size).toBeGreaterThan(0);
    for (const file of setup!.media) expect(catalog.publicMedia.has(file)).toBe(false);
    for (const file of welcome!.media) expect(catalog.publicMedia.has(file)).toBe(true);
    expect([...catalog.publicMedia].some((f) => f.endsWith('-og.jpg'))).toBe(true);
  });

  it("points paid lessons at their course's private media, and keeps media a public page also uses public", async () => {
    const catalog = await loadCatalog(GOOD);
    const [welcome, setup, , deepDive] = catalog.courses[0]!.lessons;
    const own = catalog.privateMedia.get('tiny-course')!;
    expect([...own].sort()).toEqual([...new Set([...setup!.media, ...deepDive!.media])].filter((f) => !catalog.publicMedia.has(f)).sort());
    expect(own.size).toBe(7);
    for (const file of own) {
      expect(catalog.publicMedia.has(file)).toBe(false);
      expect(setup!.html + deepDive!.html).toContain(`/courses/tiny-course/media/${file}`);
      expect(setup!.html + deepDive!.html).not.toMatch(new RegExp(`["\\s,]/media/${file}`));
    }
    // The flow diagram is in the free welcome lesson too: the deep dive uses its public URL.
    const shared = [...deepDive!.media].filter((f) => welcome!.media.has(f));
    expect(shared.length).toBeGreaterThan(0);
    for (const file of shared) expect(deepDive!.html).toMatch(new RegExp(`["\\s,]/media/${file}`));
    expect(catalog.privateMedia.has('hidden-course')).toBe(false);
  });

  it('renders the same input to the same HTML', async () => {
    const a = await loadCatalog(GOOD);
    const b = await loadCatalog(GOOD);
    expect(b.courses.map((c) => [c.html, ...c.lessons.map((l) => l.html)])).toEqual(a.courses.map((c) => [c.html, ...c.lessons.map((l) => l.html)]));
  });
});

describe('mistakes', () => {
  it('reports every problem of the broken fixture with file, line and what to do', async () => {
    const problems = await problemsOf(BROKEN);
    const lines = problems.map((p) => `${p.file.replace(`${BROKEN}/`, '')}${p.line ? `:${p.line}` : ''}: ${p.warning ? 'warning: ' : ''}${p.message}`);
    expect(lines).toEqual([
      'Bad_Folder: course folder name "Bad_Folder" must be lowercase letters, digits and single hyphens (at most 64 characters): it becomes the URL',
      'bad-course/01-intro.md:3: preview must be true or false',
      'bad-course/01-intro.md:4: duration must be a whole number of minutes',
      `bad-course/01-intro.md:8: link ./02-nothing.md points to no lesson or course (looked for ${BROKEN}/bad-course/02-nothing.md)`,
      `bad-course/01-intro.md:8: image ./img/missing.png not found (looked for ${BROKEN}/bad-course/img/missing.png)`,
      'bad-course/01-intro.md:10: link ./03-draft.md points to a draft lesson, which is not published: remove the link or publish the lesson',
      'bad-course/01-intro.md:12: warning: image ./img/also-missing.png has no alt text: write ![what the image shows](./img/also-missing.png), or ![](./img/also-missing.png){decorative} for an image that only decorates',
      `bad-course/01-intro.md:12: image ./img/also-missing.png not found (looked for ${BROKEN}/bad-course/img/also-missing.png)`,
      'bad-course/01-intro.md:14: warning: unknown code language "pythn" (shown as plain text): use a language name such as python, bash or text',
      `bad-course/02-links.md:6: link ./02-nothing.md points to no lesson or course (looked for ${BROKEN}/bad-course/02-nothing.md)`,
      `bad-course/02-links.md:6: image ./img/missing.png not found (looked for ${BROKEN}/bad-course/img/missing.png)`,
      'bad-course/02-links.md:8: link ./03-draft.md points to a draft lesson, which is not published: remove the link or publish the lesson',
      `bad-course/02-links.md:8: link ./files/data.csv points to a file that does not exist (looked for ${BROKEN}/bad-course/files/data.csv)`,
      'bad-course/02-links.md:10: warning: image ../../courses-good/tiny-course/cover.png has no alt text: write ![what the image shows](../../courses-good/tiny-course/cover.png), or ![](../../courses-good/tiny-course/cover.png){decorative} for an image that only decorates',
      'bad-course/02-links.md:12: image https://example.com/x.png is remote: copy it beside the lesson and reference it relatively, so it is optimised and never breaks',
      'bad-course/02-links.md:14: warning: unknown code language "pythn" (shown as plain text): use a language name such as python, bash or text',
      'bad-course/04-no-front-matter.md:1: the file must start with front matter between two --- lines (title and the other settings)',
      'bad-course/course.md:4: price must be written in quotes, exactly as buyers should see it, e.g. price: "49.001"',
      'bad-course/course.md:6: unknown key "prive": the keys are title, description, price, currency, cover, published, order, level, tags, coming_soon, sale_ends, promotion_codes, tax_code, testimonials, faq, guarantee',
      'bad-course/course.md:7: cover: ./missing-cover.png not found beside course.md',
      'bad-course/notes.md: lesson files are named <NN>-<slug>.md, e.g. 01-introduction.md',
      `dup-course/01-setup.md: number 1 is also used by ${BROKEN}/dup-course/01-part: the numbers set the order, so each must be different`,
      `dup-course/01-setup.md: duplicate lesson slug "setup" (also ${BROKEN}/dup-course/01-part/01-setup.md): lesson URLs drop the number and the section, so give one of them another name`,
      `dup-course/02-beta.md: number 2 is also used by ${BROKEN}/dup-course/02-alpha.md: the numbers set the order, so each must be different`,
      'no-lessons: course "no-lessons" has no lessons: add a file such as 01-introduction.md',
      'no-lessons/course.md: title is required',
      'no-lessons/course.md:4: currency must be a three-letter ISO 4217 code such as USD, EUR or JPY',
    ]);
  });

  it('checks the body of a file whose front matter is wrong in the same run, and links to it still resolve', async () => {
    const dir = tree({
      'a/course.md': `---\ntitle: A\ndescription: About it.\nprice: 10\ncover: ./nope.png\n---\nSee [one](./01-one.md) and ![](./nope.png).\n`,
      'a/01-one.md': lesson('preview: maybe\n', 'A [link](./02-nothing.md).'),
      'a/02-two.md': '# No front matter\n\n```pythn\nx\n```\n',
      'a/03-three.md': lesson('', 'Back to [one](./01-one.md).'),
    });
    const problems = (await problemsOf(dir)).map((p) => `${p.file.split('/').slice(-2).join('/')}:${p.line}: ${p.message.split(' (')[0]}`);
    expect(problems).toEqual([
      'a/01-one.md:3: preview must be true or false',
      'a/01-one.md:5: link ./02-nothing.md points to no lesson or course',
      'a/02-two.md:1: the file must start with front matter between two --- lines',
      'a/02-two.md:3: unknown code language "pythn"',
      'a/course.md:4: price must be written in quotes, exactly as buyers should see it, e.g. price: "10"',
      'a/course.md:5: cover: ./nope.png not found beside course.md',
      'a/course.md:7: image ./nope.png has no alt text: write ![what the image shows](./nope.png), or ![](./nope.png){decorative} for an image that only decorates',
      'a/course.md:7: image ./nope.png not found',
    ]);
  });

  it('rejects a price with more decimals than its currency has', async () => {
    const dir = tree({ 'a/course.md': course('currency: JPY\n').replace('"10.00"', '"10.50"'), 'a/01-one.md': lesson('') });
    expect((await problemsOf(dir)).map((p) => [p.line, p.message])).toEqual([
      [4, 'price: JPY has no minor unit: write a whole number such as "4900", not "10.50"'],
    ]);
  });

  it('rejects a missing cover, a bad level and a description of two paragraphs', async () => {
    const dir = tree({
      'a/course.md': `---\ntitle: A\ndescription: |\n  One.\n\n  Two.\nprice: "1"\ncover: ./nope.png\nlevel: expert\n---\n`,
      'a/01-one.md': lesson(''),
    });
    expect((await problemsOf(dir)).map((p) => [p.line, p.message])).toEqual([
      [3, 'description must be one paragraph'],
      [8, 'cover: ./nope.png not found beside course.md'],
      [9, 'level must be one of beginner, intermediate, advanced'],
    ]);
    const cover = tree({ 'a/course.md': course('cover: ./nope.png\n'), 'a/01-one.md': lesson('') });
    expect((await problemsOf(cover)).map((p) => [p.line, p.message])).toEqual([[5, 'cover: ./nope.png not found beside course.md']]);
  });

  it('rejects links into a course that is not published', async () => {
    const dir = tree({
      'a/course.md': course(''),
      'a/01-one.md': lesson('', 'See [the other](../b/01-two.md).'),
      'b/course.md': course('published: false\n'),
      'b/01-two.md': lesson('', 'Back to [a](../a/01-one.md).'),
    });
    expect((await problemsOf(dir)).map((p) => p.message)).toEqual([
      'link ../b/01-two.md points into the unpublished course "b": remove the link or publish the course',
    ]);
  });

  it('rejects duplicate front-matter keys, bad YAML and nested sections', async () => {
    const dir = tree({
      'a/course.md': course(''),
      'a/01-one.md': '---\ntitle: One\ntitle: Again\n---\n',
      'a/02-two.md': '---\ntitle: [unclosed\n---\n',
      'a/03-part/01-inner/01-deep.md': lesson(''),
      'a/04-fine.md': lesson(''),
    });
    const problems = await problemsOf(dir);
    expect(problems.map((p) => p.file.split('/').slice(-2).join('/'))).toEqual(['a/01-one.md', 'a/02-two.md', '03-part/01-inner']);
    expect(problems[0]!.message).toMatch(/^invalid front matter: Map keys must be unique/);
    expect(problems[2]!.message).toBe('sections cannot be nested: move these lessons up into the section folder');
  });

  it('requires site settings', async () => {
    const dir = tree({ 'a/course.md': course(''), 'a/01-one.md': lesson('') });
    writeFileSync(join(dir, 'site.yaml'), 'name: Site\nlocale: not a locale!\n');
    expect((await problemsOf(dir)).map((p) => [p.line, p.message])).toEqual([
      [undefined, 'description is required'],
      [undefined, 'author is required'],
      [2, 'locale must be a BCP 47 language tag such as en-US'],
    ]);
  });

  it('refuses tax settings Stripe would refuse, and the consent without a terms page', async () => {
    const dir = tree({ 'a/course.md': course('tax_code: txcd_1\n'), 'a/01-one.md': lesson('') });
    writeFileSync(
      join(dir, 'site.yaml'),
      'name: Site\ndescription: D.\nauthor: A\ntax:\n  automatic_tax: yes please\n  tax_code: general\nwithdrawal_consent: true\n',
    );
    expect((await problemsOf(dir)).map((p) => p.message)).toEqual([
      'tax_code must be a Stripe product tax code such as txcd_10103000 (txcd_ and eight digits)',
      'tax.automatic_tax must be true or false',
      'tax.tax_code must be a Stripe product tax code such as txcd_10103000 (txcd_ and eight digits)',
    ]);
    writeFileSync(join(dir, 'site.yaml'), 'name: Site\ndescription: D.\nauthor: A\nwithdrawal_consent: true\n');
    writeFileSync(join(dir, 'a/course.md'), course(''));
    expect((await problemsOf(dir)).map((p) => p.message)).toEqual(['terms_url: withdrawal_consent needs terms_url, the page the consent text links to']);
  });
});

describe('tax settings', () => {
  it("give every course the site's tax, invoice and consent settings, with its own tax code when it has one", async () => {
    const dir = tree({
      'a/course.md': course(''),
      'a/01-one.md': lesson(''),
      'b/course.md': course('tax_code: txcd_10103001\n'),
      'b/01-one.md': lesson(''),
    });
    writeFileSync(
      join(dir, 'site.yaml'),
      'name: Site\ndescription: D.\nauthor: A\nlocale: fr-FR\ntax:\n  automatic_tax: true\n  prices_include_tax: false\n  invoices: true\nterms_url: /cgv/\nwithdrawal_consent: true\n',
    );
    const catalog = await loadCatalog(dir);
    expect(catalog.courses.map((c) => c.tax)).toEqual([
      {
        automaticTax: true,
        taxBehavior: 'exclusive',
        taxCode: 'txcd_10103000',
        taxIdCollection: false,
        billingAddress: 'required',
        invoices: true,
        consent: { termsUrl: '/cgv/', language: 'fr-FR' },
      },
      {
        automaticTax: true,
        taxBehavior: 'exclusive',
        taxCode: 'txcd_10103001',
        taxIdCollection: false,
        billingAddress: 'required',
        invoices: true,
        consent: { termsUrl: '/cgv/', language: 'fr-FR' },
      },
    ]);
  });

  it('are none without a tax: block or the consent', async () => {
    const catalog = await loadCatalog(tree({ 'a/course.md': course(''), 'a/01-one.md': lesson('') }));
    expect(catalog.courses[0]!.tax).toBeNull();
  });
});

describe('sales page blocks', () => {
  const sales = `testimonials:
  - quote: It made sense at last.
    name: Grace H.
    role: Analyst
faq:
  - question: Is it for beginners?
    answer: Yes, see [the first lesson](./01-one.md) and *this*.
  - question: How long?
    answer: |
      Forever.

      Really.
guarantee: A refund within **30 days**.
`;

  it('reads testimonials as text, renders FAQ answers and the guarantee as Markdown with their links resolved', async () => {
    const catalog = await loadCatalog(tree({ 'a/course.md': course(sales), 'a/01-one.md': lesson('') }));
    const [found] = catalog.courses;
    expect(found!.testimonials).toEqual([{ quote: 'It made sense at last.', name: 'Grace H.', role: 'Analyst' }]);
    expect(found!.faq.map((item) => item.question)).toEqual(['Is it for beginners?', 'How long?']);
    expect(found!.faq[0]!.html).toBe('<p>Yes, see <a href="/courses/a/one/">the first lesson</a> and <em>this</em>.</p>\n');
    expect(found!.faq[1]!.html).toBe('<p>Forever.</p>\n<p>Really.</p>\n');
    expect(found!.guarantee).toBe('<p>A refund within <strong>30 days</strong>.</p>\n');
    expect(catalog.author).toBeNull();
  });

  it('reports each mistake in a list at its item’s line, and a broken link in an answer at the answer’s line', async () => {
    const front = `faq:
  - question: Is it for beginners?
  - question: Broken link?
    answer: See [nothing](./02-missing.md).
  - question: Typo?
    anwser: Yes.
testimonials:
  - name: Nobody
    quote: ""
guarantee: 30
`;
    const dir = tree({ 'a/course.md': course(front), 'a/01-one.md': lesson('') });
    expect((await problemsOf(dir)).map((p) => [p.line, p.message])).toEqual([
      [6, 'faq, item 1: answer is required'],
      [9, 'faq, item 3: answer is required'],
      [9, 'faq, item 3: unknown key "anwser": the keys are question, answer'],
      [13, 'testimonials, item 1: quote must not be empty'],
      [14, 'guarantee must be text'],
    ]);
    // Answers are checked like the sales text, at their own line (here, 7 and 9: a block scalar's text starts below its key).
    const links = tree({
      'a/course.md': course(
        'faq:\n  - question: Broken link?\n    answer: See [nothing](./02-missing.md).\n  - question: Anchor?\n    answer: |\n      See [here](#nowhere).\nguarantee: "[terms](./terms.md)"\n',
      ),
      'a/01-one.md': lesson(''),
    });
    expect((await problemsOf(links)).map((p) => [p.line, p.message.split(':')[0]])).toEqual([
      [7, expect.stringContaining('./02-missing.md')],
      [10, expect.stringContaining('#nowhere')],
      [11, expect.stringContaining('./terms.md')],
    ]);
  });

  it('takes the author’s bio and photo from site.yaml, and names a missing photo', async () => {
    const dir = tree({ 'a/course.md': course(''), 'a/01-one.md': lesson('') });
    const site = `${readFileSync(join(dir, 'site.yaml'), 'utf8')}bio:\n  text: Writes Python.\n  photo: ./me.png\n`;
    writeFileSync(join(dir, 'site.yaml'), site);
    expect((await problemsOf(dir)).map((p) => p.message)).toEqual(['bio.photo: ./me.png not found beside site.yaml']);
    cpSync('tests/fixtures/demo-courses/author.png', join(dir, 'me.png'));
    const catalog = await loadCatalog(dir);
    expect(catalog.author).toMatchObject({ text: 'Writes Python.', photo: { width: 192, height: 192 } });
    expect(catalog.author!.name).toBe(catalog.site.author);
    expect(catalog.author!.photo!.webp.map((variant) => variant.width)).toEqual([96, 192]);
    for (const variant of catalog.author!.photo!.webp) expect(catalog.publicMedia.has(variant.src.slice('/media/'.length))).toBe(true);
    writeFileSync(join(dir, 'site.yaml'), `${site}  nmae: Ada\n`);
    expect((await problemsOf(dir)).map((p) => [p.line, p.message])).toEqual([[expect.any(Number), 'bio: unknown key "nmae": the keys are text, photo, name']]);
  });
});
