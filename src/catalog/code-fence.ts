// What a code fence's info string says, as books write it: ```rust,ignore, ```js run,
// ```rust title="src/main.rs" {1,3-4}, ```rust,does_not_compile. The language is the first word;
// the rest are attributes, of which some render (a file name caption, highlighted lines, a "does
// not compile" or "panics" mark), some are other tools' business (rustdoc's, mdBook's), and the
// others are reported as warnings and ignored.

export type CodeMark = 'does-not-compile' | 'panics';

export type FenceInfo = {
  /** The first word, lower-cased; null for a fence without one. */
  language: string | null;
  title?: string;
  /** 1-based line numbers to highlight. */
  highlight: Set<number>;
  marks: CodeMark[];
  /** Attributes the site does not know, for a warning. */
  unknown: string[];
};

const MARKS: Record<string, CodeMark> = {
  compile_fail: 'does-not-compile',
  does_not_compile: 'does-not-compile',
  'does-not-compile': 'does-not-compile',
  should_panic: 'panics',
  panics: 'panics',
};

/** rustdoc's and mdBook's attributes: they mean something to those tools and nothing to a reader. */
const OTHER_TOOLS = new Set([
  'ignore',
  'no_run',
  'noplayground',
  'editable',
  'mdbook-runnable',
  'test_harness',
  'not_desired_behavior',
  'edition2015',
  'edition2018',
  'edition2021',
  'edition2024',
]);

export const MARK_TEXT: Record<CodeMark, string> = {
  'does-not-compile': 'This code does not compile.',
  panics: 'This code panics.',
};

export function parseFenceInfo(info: string): FenceInfo {
  const text = info.trim();
  const first = /^[^\s,{]+/.exec(text)?.[0] ?? '';
  const result: FenceInfo = { language: first ? first.toLowerCase() : null, highlight: new Set(), marks: [], unknown: [] };
  let rest = text.slice(first.length);
  rest = rest.replace(/\btitle=(?:"([^"]*)"|'([^']*)'|(\S+))/, (_all, double?: string, single?: string, bare?: string) => {
    result.title = (double ?? single ?? bare ?? '').trim() || undefined;
    return ' ';
  });
  rest = rest.replace(/\{([^}]*)\}/g, (whole, ranges: string) => {
    const lines = parseRanges(ranges);
    if (lines) for (const line of lines) result.highlight.add(line);
    else result.unknown.push(whole);
    return ' ';
  });
  for (const word of rest.split(/[\s,]+/).filter(Boolean)) {
    const mark = MARKS[word];
    if (mark) {
      if (!result.marks.includes(mark)) result.marks.push(mark);
    } else if (!OTHER_TOOLS.has(word) && !/^hidelines=/.test(word)) {
      result.unknown.push(word);
    }
  }
  return result;
}

/** `1,3-4` to {1, 3, 4}; null when it is not a list of lines. */
function parseRanges(text: string): number[] | null {
  const lines: number[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const range = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
    if (!range) return null;
    const from = Number(range[1]);
    const to = Number(range[2] ?? range[1]);
    if (from < 1 || to < from || to - from > 10_000) return null;
    for (let line = from; line <= to; line++) lines.push(line);
  }
  return lines;
}
