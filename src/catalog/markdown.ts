// Markdown to HTML for course pages and lessons, once, at build time. Rendering is split in two
// passes: a scan of the tokens (images to measure, languages to load) that may await, then a
// synchronous render, because markdown-it renderers cannot be async.
import { existsSync, statSync } from 'node:fs';
import { dirname, extname, resolve } from 'node:path';
import markdownIt, { type MarkdownIt, type Token } from 'markdown-it';
import anchor from 'markdown-it-anchor';
import footnote from 'markdown-it-footnote';
import { bundledLanguages, createHighlighter, createJavaScriptRegexEngine, type BundledLanguage, type Highlighter } from 'shiki';
import { MediaRegistry, type Download, type Picture } from './media.ts';

export type Problem = { file: string; line?: number; message: string };

/** What a document links to, by absolute source path: lessons and course pages. */
export type LinkTarget = { url: string; course: string; draft: boolean; coursePublished: boolean };

export type RenderContext = {
  /** Absolute path of the Markdown file. */
  file: string;
  /** Lines before the body (front matter), to report lines in the file. */
  lineOffset: number;
  targets: Map<string, LinkTarget>;
  media: MediaRegistry;
  problems: Problem[];
  /** Where reports name the file (relative to the project). */
  displayFile: string;
  /** The course the document belongs to: links into an unpublished course are allowed only from inside it. */
  course: string;
};

export type Rendered = {
  html: string;
  /** Published media file names this document uses. */
  media: Set<string>;
  words: number;
  headings: { level: number; text: string; id: string }[];
};

type Env = {
  ctx: RenderContext;
  pictures: Map<string, Picture>;
  downloads: Map<string, Download>;
  media: Set<string>;
};

// The high-contrast variants: some token colours of the plain github themes fall below 4.5:1 on a
// code block's background (keywords and parameters in light, comments in dark).
const THEMES = { light: 'github-light-high-contrast', dark: 'github-dark-high-contrast' } as const;
/** Shiki's names for unhighlighted code, which are not in its bundle of grammars. */
const PLAIN = new Set(['text', 'plaintext', 'txt', 'plain', 'ansi']);
const LANGUAGE_ALIASES: Record<string, string> = { py: 'python', sh: 'bash', shell: 'bash', console: 'shellsession', js: 'javascript', ts: 'typescript', yml: 'yaml' };

export function slugify(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\p{L}\p{N}\s-]/gu, '')
    .trim()
    .replace(/\s+/g, '-')
    .replace(/-+/g, '-');
}

export class MarkdownRenderer {
  readonly #md: MarkdownIt;
  readonly #highlighter: Highlighter;

  private constructor(highlighter: Highlighter) {
    this.#highlighter = highlighter;
    this.#md = markdownIt({ html: true, linkify: true, typographer: true });
    this.#md.use(footnote);
    // markdown-it-anchor's types describe markdown-it 14; the plugin works unchanged on 15.
    this.#md.use(anchor as unknown as (md: MarkdownIt, options: object) => void, {
      level: [2, 3, 4],
      slugify,
      permalink: anchor.permalink.headerLink({ safariReaderFix: true }),
    });
    this.#md.options.highlight = (code: string, info: string) => this.#highlight(code, info);
    const rules = this.#md.renderer.rules;
    rules.image = (tokens: Token[], i: number, _options: unknown, env?: unknown) => renderImage(tokens[i]!, env as Env);
    rules.table_open = () => '<div class="table-scroll" tabindex="0" role="region" aria-label="Table"><table>\n';
    rules.table_close = () => '</table></div>\n';
  }

  static async create(): Promise<MarkdownRenderer> {
    // The JavaScript regex engine highlights about 1.6 times as fast as the WASM one here (measured on the generated corpus).
    const highlighter = await createHighlighter({ themes: Object.values(THEMES), langs: ['python', 'bash'], engine: createJavaScriptRegexEngine() });
    return new MarkdownRenderer(highlighter);
  }

  async render(body: string, ctx: RenderContext): Promise<Rendered> {
    const env: Env = { ctx, pictures: new Map(), downloads: new Map(), media: new Set() };
    const tokens = this.#md.parse(body, env);
    await this.#prepare(tokens, env);
    const html = this.#md.renderer.render(tokens, this.#md.options, env);
    return { html, media: env.media, words: countWords(tokens), headings: headingsOf(tokens) };
  }

  /** Resolves links and images against the file system and loads the code languages used. */
  async #prepare(tokens: Token[], env: Env): Promise<void> {
    const { ctx } = env;
    const waits: Promise<void>[] = [];
    for (const block of tokens) {
      const line = block.map ? ctx.lineOffset + block.map[0] + 1 : undefined;
      const report = (message: string) => ctx.problems.push({ file: ctx.displayFile, line, message });
      if (block.type === 'fence') {
        const lang = languageOf(block.info);
        if (lang && !PLAIN.has(lang) && !this.#highlighter.getLoadedLanguages().includes(lang)) {
          if (lang in bundledLanguages) waits.push(this.#highlighter.loadLanguage(lang as BundledLanguage));
          else report(`unknown code language "${block.info.trim()}": use a language name such as python, bash or text`);
        }
      }
      for (const token of block.children ?? []) {
        if (token.type === 'image') waits.push(resolveImage(token, env, report));
        if (token.type === 'link_open') waits.push(resolveLink(token, env, report));
      }
    }
    await Promise.all(waits);
  }

  #highlight(code: string, info: string): string {
    const lang = languageOf(info) ?? 'text';
    const loaded = PLAIN.has(lang) || this.#highlighter.getLoadedLanguages().includes(lang) ? lang : 'text';
    return this.#highlighter.codeToHtml(code.replace(/\n$/, ''), { lang: loaded, themes: THEMES, defaultColor: 'light' });
  }
}

/** markdown-it 15 types attributes as string | number; ours are always strings. */
function attr(token: Token, name: string): string {
  const value = token.attrGet(name);
  return value === null ? '' : String(value);
}

function languageOf(info: string): string | null {
  const name = info.trim().split(/\s+/)[0]?.toLowerCase();
  if (!name) return null;
  return LANGUAGE_ALIASES[name] ?? name;
}

/** A link or image that points at a file of the project rather than at a URL. */
function localTarget(href: string): { path: string; hash: string } | null {
  if (!href || href.startsWith('#') || href.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(href)) return null;
  const [beforeHash = '', hash = ''] = href.split('#', 2);
  return { path: decodeURIComponent(beforeHash.split('?')[0] ?? ''), hash: hash ? `#${hash}` : '' };
}

async function resolveImage(token: Token, env: Env, report: (m: string) => void): Promise<void> {
  const src = attr(token, 'src');
  const alt = token.content.trim();
  if (!alt) report(`image ${src} has no alt text: write ![what the image shows](${src})`);
  if (/^(https?:)?\/\//i.test(src)) {
    report(`image ${src} is remote: copy it beside the lesson and reference it relatively, so it is optimised and never breaks`);
    return;
  }
  const target = localTarget(src);
  if (!target) {
    report(`image ${src} must be a path relative to the file, such as ./img/diagram.png`);
    return;
  }
  const path = resolve(dirname(env.ctx.file), target.path);
  if (!isFile(path)) {
    report(`image ${src} not found (looked for ${relativeToCwd(path)})`);
    return;
  }
  if (!MediaRegistry.isImage(path)) {
    report(`image ${src} is not a supported image: use png, jpg, webp, avif, gif or svg`);
    return;
  }
  try {
    env.pictures.set(src, await env.ctx.media.picture(path));
  } catch (error) {
    report(`image ${src} cannot be read: ${(error as Error).message}`);
  }
}

async function resolveLink(token: Token, env: Env, report: (m: string) => void): Promise<void> {
  const href = attr(token, 'href');
  const target = localTarget(href);
  if (!target) return;
  const path = resolve(dirname(env.ctx.file), target.path);
  if (extname(path).toLowerCase() === '.md') {
    const lesson = env.ctx.targets.get(path);
    if (!lesson) {
      report(`link ${href} points to no lesson or course (looked for ${relativeToCwd(path)})`);
    } else if (lesson.draft) {
      report(`link ${href} points to a draft lesson, which is not published: remove the link or publish the lesson`);
    } else if (!lesson.coursePublished && lesson.course !== env.ctx.course) {
      report(`link ${href} points into the unpublished course "${lesson.course}": remove the link or publish the course`);
    } else {
      token.attrSet('href', lesson.url + target.hash);
    }
    return;
  }
  if (!isFile(path)) {
    report(`link ${href} points to a file that does not exist (looked for ${relativeToCwd(path)})`);
    return;
  }
  const download = await env.ctx.media.download(path);
  env.downloads.set(href, download);
  token.attrSet('href', download.src);
  token.attrSet('download', download.name);
  env.media.add(download.src.slice('/media/'.length));
}

function renderImage(token: Token, env: Env): string {
  const src = attr(token, 'src');
  const picture = env.pictures.get(src);
  const alt = escapeAttr(token.content);
  const title = attr(token, 'title');
  if (!picture) return `<img src="${escapeAttr(src)}" alt="${alt}">`;
  return pictureHtml(picture, {
    alt,
    title: title ? escapeAttr(title) : undefined,
    sizes: '(min-width: 52rem) 46rem, 100vw',
    lazy: true,
    used: env.media,
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
  options: { alt: string; title?: string; sizes: string; lazy: boolean; used?: Set<string>; className?: string },
): string {
  for (const file of pictureFiles(picture)) {
    if (file.endsWith('-og.jpg')) continue;
    options.used?.add(file);
  }
  const loading = options.lazy ? ' loading="lazy" decoding="async"' : ' fetchpriority="high"';
  const title = options.title ? ` title="${options.title}"` : '';
  const cls = options.className ? ` class="${options.className}"` : '';
  const img = (srcset: string) =>
    `<img src="${picture.src}"${srcset} sizes="${options.sizes}" width="${picture.width}" height="${picture.height}" alt="${options.alt}"${title}${loading}${cls}>`;
  if (!picture.webp.length) return img('');
  const set = (list: { src: string; width: number }[]) => list.map((v) => `${v.src} ${v.width}w`).join(', ');
  return `<picture><source type="image/avif" srcset="${set(picture.avif)}" sizes="${options.sizes}">${img(` srcset="${set(picture.webp)}"`)}</picture>`;
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

function headingsOf(tokens: Token[]): Rendered['headings'] {
  const headings: Rendered['headings'] = [];
  tokens.forEach((token, i) => {
    if (token.type !== 'heading_open') return;
    const id = attr(token, 'id');
    const inline = tokens[i + 1];
    if (id && inline) headings.push({ level: Number(token.tag.slice(1)), text: inline.content, id });
  });
  return headings;
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
