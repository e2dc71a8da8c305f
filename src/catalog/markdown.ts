// Markdown to HTML for course pages and lessons, once, at build time. Rendering is split in two
// passes: a scan of the tokens (images to measure, languages to load, links and raw HTML to
// resolve) that may await, then a synchronous render, because markdown-it renderers cannot be
// async. Links to other lessons' anchors are collected here and checked by the catalogue once
// every document is rendered (src/catalog/load.ts).
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { slug as githubSlug } from 'github-slugger';
import markdownIt, { type MarkdownIt, type StateCore, type Token } from 'markdown-it';
import anchor from 'markdown-it-anchor';
import footnote from 'markdown-it-footnote';
import { bundledLanguages, createHighlighter, createJavaScriptRegexEngine, type BundledLanguage, type Highlighter, type ShikiTransformer } from 'shiki';
import { MARK_TEXT, parseFenceInfo, type FenceInfo } from './code-fence.ts';
import { courseSyntax, type ImageOptions } from './markdown-syntax.ts';
import { MediaRegistry, type Download, type Picture } from './media.ts';
import { idsIn, rewriteTags, type Attributes } from './raw-html.ts';
import { messagesFor } from '../server/i18n/index.ts';

/** A mistake in a course file. A warning does not stop a build, unless the author asks (`--strict`). */
export type Problem = { file: string; line?: number; message: string; warning?: boolean };

/** What a document links to, by absolute source path: lessons and course pages. */
export type LinkTarget = {
  url: string;
  course: string;
  draft: boolean;
  coursePublished: boolean;
  /** The ids of the rendered page, once it is rendered: what a `#fragment` may name. */
  ids?: Set<string>;
};

/** A link to an anchor, checked once every page is rendered. */
export type FragmentLink = { file: string; line?: number; href: string; source: string; id: string };

export type RenderContext = {
  /** Absolute path of the Markdown file. */
  file: string;
  /** Lines before the body (front matter), to report lines in the file. */
  lineOffset: number;
  targets: Map<string, LinkTarget>;
  media: MediaRegistry;
  problems: Problem[];
  /** Where links to anchors are collected, to be checked when every page is rendered. */
  fragments: FragmentLink[];
  /** Where reports name the file (relative to the project). */
  displayFile: string;
  /** The course the document belongs to: links into an unpublished course are allowed only from inside it. */
  course: string;
  /** The site's locale: its language's quotes and spacing (see `typography`). */
  locale: string;
};

export type Heading = { level: number; text: string; id: string /** In the file. */; line?: number };

export type Rendered = {
  html: string;
  /** Published media file names this document uses. */
  media: Set<string>;
  words: number;
  headings: Heading[];
  /** Every id the document defines: headings, footnotes, raw HTML. */
  ids: Set<string>;
  /** The document as plain text (headings, prose, code), for the search index. */
  text: string;
};

type Resolved = { picture: Picture; dark?: Picture };

type Env = {
  ctx: RenderContext;
  /** Read by the French spacing rule. */
  french?: boolean;
  pictures: Map<string, Resolved>;
  downloads: Map<string, Download>;
  media: Set<string>;
  ids: Set<string>;
};

// The high-contrast variants: some token colours of the plain github themes fall below 4.5:1 on a
// code block's background (keywords and parameters in light, comments in dark).
const THEMES = { light: 'github-light-high-contrast', dark: 'github-dark-high-contrast' } as const;
/** Shiki's names for unhighlighted code, which are not in its bundle of grammars. */
const PLAIN = new Set(['text', 'plaintext', 'txt', 'plain', 'ansi']);
const LANGUAGE_ALIASES: Record<string, string> = {
  py: 'python',
  sh: 'bash',
  shell: 'bash',
  console: 'shellsession',
  js: 'javascript',
  ts: 'typescript',
  yml: 'yaml',
};
const IMAGE_SIZES = '(min-width: 52rem) 46rem, 100vw';

/**
 * Heading ids as GitHub and mdBook make them, so that links written for those
 * (`method-syntax.md#wheres-the---operator`) find their target. Repeats get -1, -2 (the anchor
 * plugin's numbering, which is GitHub's).
 */
export function slugify(text: string): string {
  return githubSlug(text);
}

/**
 * The typographer's conventions of the site's language. French: « » quotes with a narrow no-break
 * space (U+202F) inside, and the same space before : ; ! ? (and none of it in code, which is
 * its own token and never touched).
 */
const NNBSP = '\u202f';
function typographyOf(locale: string): { quotes: string[]; french: boolean } {
  if (/^fr\b/i.test(locale)) return { quotes: [`«${NNBSP}`, `${NNBSP}»`, '“', '”'], french: true };
  return { quotes: ['“', '”', '‘', '’'], french: false };
}

/** A core rule after the smart quotes: a space (or none) before : ; ! ? becomes U+202F, in text only. */
function frenchSpacing(state: StateCore): void {
  if (!(state.env as Env).french) return;
  for (const block of state.tokens) {
    if (block.type !== 'inline' || !block.children) continue;
    for (const token of block.children) {
      if (token.type !== 'text') continue;
      // Only after a word, a closing quote or bracket, and before a space or the end: "http://",
      // "12:30" and "?q=1" stay as they are.
      token.content = token.content.replace(/([\p{L}\p{N}»)\]])[ \u00a0]?([:;!?])(?=[\s»)\]]|$)/gu, `$1${NNBSP}$2`);
    }
  }
}

export class MarkdownRenderer {
  readonly #md: MarkdownIt;
  readonly #highlighter: Highlighter;

  private constructor(highlighter: Highlighter) {
    this.#highlighter = highlighter;
    this.#md = markdownIt({ html: true, linkify: true, typographer: true });
    this.#md.use(footnote);
    this.#md.core.ruler.after('smartquotes', 'french-spacing', frenchSpacing);
    this.#md.use(courseSyntax);
    // markdown-it-anchor's types describe markdown-it 14; the plugin works unchanged on 15.
    this.#md.use(anchor as unknown as (md: MarkdownIt, options: object) => void, {
      level: 1,
      slugify,
      permalink: anchor.permalink.headerLink({ safariReaderFix: true }),
    });
    const rules = this.#md.renderer.rules;
    rules.image = (tokens: Token[], i: number, options: unknown, env?: unknown) => this.#renderImage(tokens[i]!, env as Env);
    rules.fence = (tokens: Token[], i: number) => this.#renderFence(tokens[i]!);
    rules.table_open = (_tokens: Token[], _i: number, _options: unknown, env?: unknown) =>
      `<div class="table-scroll" tabindex="0" role="region" aria-label="${escapeAttr(messagesFor((env as Env).ctx.locale).lesson.table)}"><table>\n`;
    rules.table_close = () => '</table></div>\n';
  }

  static async create(): Promise<MarkdownRenderer> {
    // The JavaScript regex engine highlights about 1.6 times as fast as the WASM one here (measured on the generated corpus).
    const highlighter = await createHighlighter({ themes: Object.values(THEMES), langs: ['python', 'bash'], engine: createJavaScriptRegexEngine() });
    return new MarkdownRenderer(highlighter);
  }

  async render(body: string, ctx: RenderContext): Promise<Rendered> {
    const env: Env = { ctx, pictures: new Map(), downloads: new Map(), media: new Set(), ids: new Set() };
    // Parsing is synchronous, so the options set here are the ones this document is parsed with.
    const typography = typographyOf(ctx.locale);
    this.#md.set({ quotes: typography.quotes });
    env.french = typography.french;
    const tokens = this.#md.parse(body, env);
    await this.#prepare(tokens, env);
    const html = this.#md.renderer.render(tokens, this.#md.options, env);
    const headings = headingsOf(tokens, ctx.lineOffset);
    for (const heading of headings) env.ids.add(heading.id);
    for (const id of footnoteIds(tokens)) env.ids.add(id);
    return { html, media: env.media, words: countWords(tokens), headings, ids: env.ids, text: plainText(tokens) };
  }

  /** Resolves links, images and raw HTML against the file system and loads the code languages used. */
  async #prepare(tokens: Token[], env: Env): Promise<void> {
    const { ctx } = env;
    const waits: Promise<void>[] = [];
    for (const block of tokens) {
      const line = block.map ? ctx.lineOffset + block.map[0] + 1 : undefined;
      const report = (message: string, at = line) => ctx.problems.push({ file: ctx.displayFile, line: at, message });
      const warn = (message: string, at = line) => ctx.problems.push({ file: ctx.displayFile, line: at, message, warning: true });
      if (block.type === 'fence') {
        const info = parseFenceInfo(block.info);
        block.meta = { fence: info };
        if (info.unknown.length)
          warn(
            `code block attribute${info.unknown.length === 1 ? '' : 's'} ${info.unknown.map((a) => `"${a}"`).join(', ')} ignored: the known ones are title="file name", {1,3-4} (lines to highlight), compile_fail and should_panic`,
          );
        for (const lineNumber of info.highlight) {
          if (lineNumber > block.content.replace(/\n$/, '').split('\n').length) {
            warn(`code block highlights line ${lineNumber}, but has fewer lines`);
            break;
          }
        }
        const lang = codeLanguage(info);
        if (lang && !PLAIN.has(lang) && !this.#highlighter.getLoadedLanguages().includes(lang)) {
          if (lang in bundledLanguages) waits.push(this.#highlighter.loadLanguage(lang as BundledLanguage));
          else warn(`unknown code language "${info.language}" (shown as plain text): use a language name such as python, bash or text`);
        }
      }
      if (block.type === 'html_block') {
        waits.push(rawHtml(block.content, env, report, warn, line).then((html) => void (block.content = html)));
      }
      for (const token of block.children ?? []) {
        if (token.type === 'image') waits.push(resolveMarkdownImage(token, env, report, warn, this.#md));
        if (token.type === 'link_open') waits.push(resolveMarkdownLink(token, env, report, line));
        if (token.type === 'html_inline') waits.push(rawHtml(token.content, env, report, warn, line).then((html) => void (token.content = html)));
      }
    }
    await Promise.all(waits);
  }

  #renderFence(token: Token): string {
    const info = (token.meta as { fence?: FenceInfo } | null)?.fence ?? parseFenceInfo(token.info);
    const lang = codeLanguage(info) ?? 'text';
    const loaded = PLAIN.has(lang) || this.#highlighter.getLoadedLanguages().includes(lang) ? lang : 'text';
    const transformers: ShikiTransformer[] = [];
    if (info.highlight.size) {
      transformers.push({
        line(node, line) {
          if (info.highlight.has(line)) this.addClassToHast(node, 'highlighted');
        },
      });
    }
    // No time limit per line (0): Shiki's default (500 ms) stops tokenizing a line on a busy machine
    // and colours the rest as one token, so the same course would build differently.
    const pre = this.#highlighter.codeToHtml(token.content.replace(/\n$/, ''), {
      lang: loaded,
      themes: THEMES,
      defaultColor: 'light',
      transformers,
      tokenizeTimeLimit: 0,
    });
    if (!info.title && !info.marks.length) return `${pre}\n`;
    const caption = info.title ? `<figcaption>${escapeAttr(info.title)}</figcaption>` : '';
    const marks = info.marks.map((mark) => `<p class="code-mark ${mark}">${MARK_TEXT[mark]}</p>`).join('');
    const classes = ['code', ...info.marks].join(' ');
    return `<figure class="${classes}">${caption}${marks}${pre}</figure>\n`;
  }

  #renderImage(token: Token, env: Env): string {
    const src = attr(token, 'src');
    const options = imageOptionsOf(token);
    // The text of the description, as markdown-it's own renderer gives it: no backticks, entities decoded once.
    const alt = escapeAttr(this.#md.renderer.renderInlineAsText(token.children ?? [], this.#md.options, env));
    const title = attr(token, 'title');
    const resolved = env.pictures.get(src);
    if (!resolved) return `<img src="${escapeAttr(src)}" alt="${alt}">`;
    return pictureHtml(resolved.picture, {
      alt: options?.decorative ? '' : alt,
      title: title ? escapeAttr(title) : undefined,
      sizes: IMAGE_SIZES,
      lazy: true,
      used: env.media,
      dark: resolved.dark,
      darkReady: options?.dark ?? false,
      width: options?.width,
      height: options?.height,
    });
  }
}

/** markdown-it 15 types attributes as string | number; ours are always strings. */
function attr(token: Token, name: string): string {
  const value = token.attrGet(name);
  return value === null ? '' : String(value);
}

function imageOptionsOf(token: Token): ImageOptions | undefined {
  return (token.meta as { options?: ImageOptions } | null)?.options;
}

function codeLanguage(info: FenceInfo): string | null {
  if (!info.language) return null;
  return LANGUAGE_ALIASES[info.language] ?? info.language;
}

/** A link or image that points at a file of the project rather than at a URL. */
function localTarget(href: string): { path: string; hash: string } | null {
  if (!href || href.startsWith('#') || href.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(href)) return null;
  const [beforeHash = '', hash = ''] = href.split('#', 2);
  return { path: decodeURIComponent(beforeHash.split('?')[0] ?? ''), hash: hash ? `#${hash}` : '' };
}

type Report = (message: string, line?: number) => void;

async function resolveMarkdownImage(token: Token, env: Env, report: Report, warn: Report, md: MarkdownIt): Promise<void> {
  const src = attr(token, 'src');
  const options = imageOptionsOf(token);
  if (options?.unknown.length)
    warn(`image ${src}: ${options.unknown.map((o) => `"${o}"`).join(', ')} ignored: an image takes {width=320}, {height=200}, {dark} and {decorative}`);
  const alt = md.renderer.renderInlineAsText(token.children ?? [], md.options, env).trim();
  if (!alt && !options?.decorative) {
    warn(`image ${src} has no alt text: write ![what the image shows](${src}), or ![](${src}){decorative} for an image that only decorates`);
  }
  const resolved = await resolveImage(src, env, report);
  if (resolved) env.pictures.set(src, resolved);
}

async function resolveImage(src: string, env: Env, report: Report, line?: number): Promise<Resolved | null> {
  if (/^(https?:)?\/\//i.test(src)) {
    report(`image ${src} is remote: copy it beside the lesson and reference it relatively, so it is optimised and never breaks`, line);
    return null;
  }
  const target = localTarget(src);
  if (!target) {
    report(`image ${src} must be a path relative to the file, such as ./img/diagram.png`, line);
    return null;
  }
  const path = resolve(dirname(env.ctx.file), target.path);
  if (!isFile(path)) {
    report(`image ${src} not found (looked for ${relativeToCwd(path)})`, line);
    return null;
  }
  if (!MediaRegistry.isImage(path)) {
    report(`image ${src} is not a supported image: use png, jpg, webp, avif, gif or svg`, line);
    return null;
  }
  try {
    // A variant for dark mode sits beside the image: diagram.svg and diagram.dark.svg.
    const ext = extname(path);
    const darkPath = join(dirname(path), `${basename(path, ext)}.dark${ext}`);
    const [picture, dark] = await Promise.all([env.ctx.media.picture(path), isFile(darkPath) ? env.ctx.media.picture(darkPath) : undefined]);
    return { picture, dark };
  } catch (error) {
    report(`image ${src} cannot be read: ${(error as Error).message}`, line);
    return null;
  }
}

async function resolveMarkdownLink(token: Token, env: Env, report: Report, line: number | undefined): Promise<void> {
  const href = attr(token, 'href');
  const resolved = await resolveHref(href, env, report, line);
  if (!resolved) return;
  token.attrSet('href', resolved.href);
  if (resolved.download) token.attrSet('download', resolved.download);
}

/**
 * Where a link written in a document goes on the site: a lesson's or course's URL (and its
 * anchor, collected for the check), or a published download. Null: leave it as written.
 */
async function resolveHref(href: string, env: Env, report: Report, line?: number): Promise<{ href: string; download?: string } | null> {
  const { ctx } = env;
  if (href.startsWith('#') && href.length > 1) {
    ctx.fragments.push({ file: ctx.displayFile, line, href, source: ctx.file, id: decodeFragment(href.slice(1)) });
    return null;
  }
  const target = localTarget(href);
  if (!target) return null;
  const path = resolve(dirname(ctx.file), target.path);
  if (extname(path).toLowerCase() === '.md') {
    const lesson = ctx.targets.get(path);
    if (!lesson) {
      report(`link ${href} points to no lesson or course (looked for ${relativeToCwd(path)})`, line);
    } else if (lesson.draft) {
      report(`link ${href} points to a draft lesson, which is not published: remove the link or publish the lesson`, line);
    } else if (!lesson.coursePublished && lesson.course !== ctx.course) {
      report(`link ${href} points into the unpublished course "${lesson.course}": remove the link or publish the course`, line);
    } else {
      if (target.hash.length > 1) ctx.fragments.push({ file: ctx.displayFile, line, href, source: path, id: decodeFragment(target.hash.slice(1)) });
      return { href: lesson.url + target.hash };
    }
    return null;
  }
  if (!isFile(path)) {
    report(`link ${href} points to a file that does not exist (looked for ${relativeToCwd(path)})`, line);
    return null;
  }
  const download = await ctx.media.download(path);
  env.downloads.set(href, download);
  env.media.add(download.src.slice('/media/'.length));
  return { href: download.src, download: download.name };
}

function decodeFragment(fragment: string): string {
  try {
    return decodeURIComponent(fragment);
  } catch {
    return fragment;
  }
}

/** Links, images and ids of a piece of raw HTML, checked and rewritten like their Markdown forms. */
async function rawHtml(html: string, env: Env, report: Report, warn: Report, line: number | undefined): Promise<string> {
  if (!/<(a|img)\b/i.test(html) && !/\s(id|name)\s*=/i.test(html)) return html;
  for (const id of idsIn(html)) env.ids.add(id);
  const lineAt = (index: number) => (line === undefined ? undefined : line + (html.slice(0, index).match(/\n/g)?.length ?? 0));
  return rewriteTags(html, async (tag): Promise<Attributes | null> => {
    const at = lineAt(tag.index);
    if (tag.name === 'a') {
      const href = tag.attributes.get('href');
      if (!href) return null;
      const resolved = await resolveHref(href, env, (m) => report(m, at), at);
      if (!resolved) return null;
      const attributes = new Map(tag.attributes).set('href', resolved.href);
      if (resolved.download) attributes.set('download', resolved.download);
      return attributes;
    }
    if (tag.name !== 'img') return null;
    const src = tag.attributes.get('src') ?? '';
    const alt = tag.attributes.get('alt');
    // alt="" is a decorative image, which WCAG allows; a missing alt is a forgotten one.
    if (alt === undefined || alt === null)
      warn(`image ${src} has no alt attribute: write alt="what the image shows", or alt="" for an image that only decorates`, at);
    if (!src) return null;
    const resolved = await resolveImage(src, env, (m) => report(m, at), at);
    if (!resolved) return null;
    // Raw HTML keeps its one <img>: it uses the image's fallback file only (no dark variant).
    env.media.add(resolved.picture.src.slice('/media/'.length));
    const attributes = new Map(tag.attributes).set('src', resolved.picture.src);
    if (!attributes.has('width') && !attributes.has('height')) {
      attributes.set('width', String(resolved.picture.width)).set('height', String(resolved.picture.height));
    }
    if (!attributes.has('loading')) attributes.set('loading', 'lazy');
    return attributes;
  });
}
/** Every published variant a picture uses, for the set of public or private media. */
export function pictureFiles(picture: Picture): string[] {
  const files = [picture.src, ...picture.webp.map((v) => v.src), ...picture.avif.map((v) => v.src)];
  if (picture.og) files.push(picture.og);
  return [...new Set(files)].map((src) => src.slice('/media/'.length));
}

export function pictureHtml(
  picture: Picture,
  options: {
    alt: string;
    title?: string;
    sizes: string;
    lazy: boolean;
    used?: Set<string>;
    className?: string;
    /** The author's variant for dark mode (diagram.dark.svg beside diagram.svg). */
    dark?: Picture;
    /** The image reads on a dark page as it is: no light backing in dark mode. */
    darkReady?: boolean;
    /** A size the author chose, in CSS pixels; the other side follows the image's proportions. */
    width?: number;
    height?: number;
  },
): string {
  for (const file of [picture, ...(options.dark ? [options.dark] : [])].flatMap(pictureFiles)) {
    if (file.endsWith('-og.jpg')) continue;
    options.used?.add(file);
  }
  let { width, height } = picture;
  let sizes = options.sizes;
  if (options.width || options.height) {
    width = options.width ?? Math.round((options.height! * picture.width) / picture.height);
    height = options.height ?? Math.round((options.width! * picture.height) / picture.width);
    sizes = `min(${width}px, 100vw)`;
  }
  const loading = options.lazy ? ' loading="lazy" decoding="async"' : ' fetchpriority="high"';
  const title = options.title ? ` title="${options.title}"` : '';
  const classes = [options.className, options.dark || options.darkReady ? 'dark-ready' : ''].filter(Boolean).join(' ');
  const cls = classes ? ` class="${classes}"` : '';
  const set = (list: { src: string; width: number }[]) => list.map((v) => `${v.src} ${v.width}w`).join(', ');
  const img = (srcset: string) =>
    `<img src="${picture.src}"${srcset}${srcset ? ` sizes="${sizes}"` : ''} width="${width}" height="${height}" alt="${options.alt}"${title}${loading}${cls}>`;
  const dark = options.dark
    ? `<source media="(prefers-color-scheme: dark)" srcset="${options.dark.webp.length ? set(options.dark.webp) : options.dark.src}"${options.dark.webp.length ? ` sizes="${sizes}"` : ''}>`
    : '';
  if (!picture.webp.length) return dark ? `<picture>${dark}${img('')}</picture>` : img('');
  return `<picture>${dark}<source type="image/avif" srcset="${set(picture.avif)}" sizes="${sizes}">${img(` srcset="${set(picture.webp)}"`)}</picture>`;
}

function countWords(tokens: Token[]): number {
  let words = 0;
  for (const token of tokens) {
    // Code is read more slowly than prose; count it at half weight.
    if (token.type === 'fence' || token.type === 'code_block') words += token.content.split(/\s+/).filter(Boolean).length / 2;
    for (const child of token.children ?? []) {
      if (child.type === 'text' || child.type === 'code_inline') words += child.content.split(/\s+/).filter(Boolean).length;
    }
  }
  return Math.round(words);
}

/** The text of an inline token as a reader sees it: no Markdown, no HTML. */
function inlineText(token: Token | undefined): string {
  return (token?.children ?? [])
    .filter((child) => child.type === 'text' || child.type === 'code_inline')
    .map((child) => child.content)
    .join('');
}

function headingsOf(tokens: Token[], lineOffset: number): Heading[] {
  const headings: Heading[] = [];
  tokens.forEach((token, i) => {
    if (token.type !== 'heading_open') return;
    const id = attr(token, 'id');
    const line = token.map ? lineOffset + token.map[0] + 1 : undefined;
    if (id) headings.push({ level: Number(token.tag.slice(1)), text: inlineText(tokens[i + 1]), id, line });
  });
  return headings;
}

/** The ids markdown-it-footnote gives its notes and references (fn1, fnref1, fnref1:1). */
function footnoteIds(tokens: Token[]): string[] {
  const ids: string[] = [];
  for (const token of tokens) {
    if (token.type === 'footnote_open') ids.push(`fn${Number((token.meta as { id: number }).id) + 1}`);
    for (const child of token.children ?? []) {
      if (child.type !== 'footnote_ref') continue;
      const { id, subId } = child.meta as { id: number; subId: number };
      ids.push(subId > 0 ? `fnref${id + 1}:${subId}` : `fnref${id + 1}`);
    }
  }
  return ids;
}

/** What a reader can find by search: the words of headings, prose and code, one block a line. */
function plainText(tokens: Token[]): string {
  const lines: string[] = [];
  for (const token of tokens) {
    if (token.type === 'fence' || token.type === 'code_block') lines.push(token.content.trim());
    else if (token.type === 'inline') {
      const text = (token.children ?? [])
        .filter((child) => child.type === 'text' || child.type === 'code_inline' || child.type === 'image')
        .map((child) => (child.type === 'image' ? inlineText(child) : child.content))
        .join('')
        .trim();
      if (text) lines.push(text);
    }
  }
  // Control characters have no place in prose, and search marks its matches with two of them.
  return lines.join('\n').replace(/[\u0000-\u0008\u000b-\u001f]/g, ' ');
}

export function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

export function relativeToCwd(path: string): string {
  const cwd = process.cwd();
  return path.startsWith(cwd + '/') ? path.slice(cwd.length + 1) : path;
}
