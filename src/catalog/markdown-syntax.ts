// The Markdown syntax our courses add to CommonMark, and the fixes to markdown-it's defaults that
// imported programming books need. Each is a markdown-it rule, so it runs inside the one parse:
// - `::: details Summary` ... `:::`, a collapsible block (solutions, spoilers) as <details>,
//   which opens without JavaScript;
// - `![alt](x.svg){width=320 dark}` and `{decorative}`, attributes of the image before them;
// - typography that leaves code-like prose alone (`...args`, `for..of`, `--release`);
// - linkify that stops before a trailing `_`, as GitHub's does (`_https://example.com_`).
import type { MarkdownIt, Token } from 'markdown-it';

/** What an author may write in an image's `{...}`: its size, and how it reads in dark mode. */
export type ImageOptions = { width?: number; height?: number; dark: boolean; decorative: boolean; unknown: string[] };

const IMAGE_OPTIONS = /^\{([^{}\n]*)\}/;

export function parseImageOptions(text: string): ImageOptions {
  const options: ImageOptions = { dark: false, decorative: false, unknown: [] };
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const size = /^(width|height)=(\d{1,5})(?:px)?$/.exec(word);
    if (size) options[size[1] as 'width' | 'height'] = Number(size[2]);
    else if (word === 'dark') options.dark = true;
    else if (word === 'decorative') options.decorative = true;
    else options.unknown.push(word);
  }
  return options;
}

export function courseSyntax(md: MarkdownIt): void {
  md.block.ruler.before('fence', 'details', detailsBlock, { alt: ['paragraph', 'reference', 'blockquote', 'list'] });
  md.renderer.rules.details_open = (tokens, i) => `<details class="details">\n<summary>${md.renderInline(tokens[i]!.info)}</summary>\n`;
  md.renderer.rules.details_close = () => '</details>\n';
  md.core.ruler.after('inline', 'image_options', imageOptions);
  md.core.ruler.at('replacements', safeReplacements);
  trimLinkifiedUnderscores(md);
}

/** `::: details Summary` opens, a line of `:::` closes; the content is Markdown. */
function detailsBlock(state: any, startLine: number, endLine: number, silent: boolean): boolean {
  const start = state.bMarks[startLine] + state.tShift[startLine];
  const line = state.src.slice(start, state.eMarks[startLine]);
  const open = /^:::\s*details(?:\s+(.*))?$/.exec(line);
  if (!open || state.sCount[startLine] - state.blkIndent >= 4) return false;
  if (silent) return true;
  let next = startLine;
  let depth = 1;
  while (++next < endLine) {
    const text = state.src.slice(state.bMarks[next] + state.tShift[next], state.eMarks[next]);
    if (state.sCount[next] < state.blkIndent) break;
    if (/^:::\s*details\b/.test(text)) depth++;
    else if (/^:::\s*$/.test(text) && --depth === 0) break;
  }
  const closed = next < endLine && depth === 0;
  const oldParent = state.parentType;
  const oldLineMax = state.lineMax;
  state.parentType = 'details';
  state.lineMax = next;
  const openToken: Token = state.push('details_open', 'details', 1);
  openToken.block = true;
  openToken.info = (open[1] ?? '').trim() || 'Details';
  openToken.map = [startLine, next];
  state.md.block.tokenize(state, startLine + 1, next);
  const closeToken: Token = state.push('details_close', 'details', -1);
  closeToken.block = true;
  state.parentType = oldParent;
  state.lineMax = oldLineMax;
  state.line = closed ? next + 1 : next;
  return true;
}

/** Moves a `{...}` written right after an image into the image token (`meta.options`). */
function imageOptions(state: any): void {
  for (const block of state.tokens as Token[]) {
    const children = block.children;
    if (!children) continue;
    for (let i = 0; i < children.length - 1; i++) {
      const image = children[i]!;
      const after = children[i + 1]!;
      if (image.type !== 'image' || after.type !== 'text') continue;
      const match = IMAGE_OPTIONS.exec(after.content);
      if (!match) continue;
      image.meta = { ...(image.meta ?? {}), options: parseImageOptions(match[1] ?? '') };
      after.content = after.content.slice(match[0].length);
    }
  }
}

/**
 * markdown-it's typographer turns any run of dots into an ellipsis and `--` into a dash, which
 * rewrites code written in prose: `...args`, `for..of`, `cargo build --release`. Here an ellipsis
 * is three dots not followed by a name, and dashes stand between spaces or digits only.
 */
function safeReplacements(state: any): void {
  if (!state.md.options.typographer) return;
  for (const block of state.tokens as Token[]) {
    if (block.type !== 'inline' || !block.children) continue;
    let insideAutolink = 0;
    for (const token of block.children) {
      if (token.type === 'link_open' && token.info === 'auto') insideAutolink++;
      if (token.type === 'link_close' && token.info === 'auto') insideAutolink--;
      if (token.type !== 'text' || insideAutolink) continue;
      token.content = token.content
        .replace(/(^|[^.])\.\.\.(?![.\w$[({])/g, '$1…')
        .replace(/(^|\s)---(?=\s|$)/g, '$1—')
        .replace(/(\s)--(?=\s)/g, '$1–')
        .replace(/(\d)--(?=\d)/g, '$1–');
    }
  }
}

/** GitHub ends an autolink before trailing `_` (and markdown-it already before `*`). */
function trimLinkifiedUnderscores(md: MarkdownIt): void {
  type Match = { url: string; text: string; raw: string; lastIndex: number };
  const trim = <T extends Match | null>(match: T): T => {
    if (!match) return match;
    const cut = /_+$/.exec(match.url)?.[0].length ?? 0;
    if (!cut) return match;
    match.url = match.url.slice(0, -cut);
    match.text = match.text.replace(/_+$/, '');
    match.raw = match.raw.replace(/_+$/, '');
    match.lastIndex -= cut;
    return match;
  };
  const linkify = md.linkify as unknown as { matchAtStart(text: string): Match | null; match(text: string): Match[] | null };
  const matchAtStart = linkify.matchAtStart.bind(linkify);
  const match = linkify.match.bind(linkify);
  linkify.matchAtStart = (text) => trim(matchAtStart(text));
  linkify.match = (text) => match(text)?.map(trim) ?? null;
}
