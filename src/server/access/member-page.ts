// A paid lesson's stored page with one member's state in it. The page is the same for every
// member; what differs is put in at the hooks the lesson view leaves:
//
// - ` data-lesson="<slug>"` on each sidebar link: ` data-done` follows it for a completed lesson;
// - PROGRESS_MARKER, an HTML comment: replaced by the "Complete and continue" (or undo) form;
// - the `data-account-link` link in the header (its text in the site's language): the member's
//   email, so that the page's script need not ask /api/me who is signed in.
//
// The progress form speaks the page's language, read from its `<html lang>`.
//
// A page is cut at those hooks once, when the gate first serves that version of it
// (`preparePage`): the long stretches become UTF-8 bytes, the sidebar (whose links change with the
// member) stays a string cut at its links. A request's page is then those bytes with a handful of
// strings between them (`renderPage`), which Node writes to the socket as they are, in one writev:
// no HTML parser, no regular expression, no copy and no re-encoding of the page per request. (A
// byte buffer per request would cost more than it seems: thousands of short-lived ArrayBuffers make
// each young-generation GC slow, and those pauses are the tail latency.) A page without hooks is
// served as it is.
import { escapeHtml } from '../http/responses.ts';
import { messagesFor, type Texts } from '../i18n/index.ts';

/** Where the lesson view leaves room for the progress form of paid lessons. */
export const PROGRESS_MARKER = '<!--lesson-progress-->';
const HOOKS = / data-lesson="([a-z0-9-]+)"|<!--lesson-progress-->|data-account-link[^>]*>[^<]*<\/a>/g;
const LANG = /<html[^>]*\slang="([A-Za-z0-9-]+)"/;

/** The sidebar: `pieces[i]` ends with lesson `slugs[i]`'s attribute, where ` data-done` may follow. */
type Sidebar = { kind: 'sidebar'; pieces: string[]; slugs: string[]; bytes: number };
type Item = Uint8Array | Sidebar | { kind: 'progress' } | { kind: 'account' };

export type PreparedPage = {
  /** The stored content hash of the page this was cut from. */
  hash: string;
  items: Item[];
  /** The texts of the page's language, for the progress form. */
  texts: Texts;
  /** The progress form in both states with their UTF-8 lengths, made at the first render. */
  forms?: { course: string; lesson: string; open: [string, number]; done: [string, number] };
  /** UTF-8 length of the page without what members add. */
  bytes: number;
};

export type MemberState = { course: string; lesson: string; done: ReadonlySet<string>; email: string };

/** A response body in pieces, to be written in order; `bytes` is their UTF-8 length. */
export type BodyParts = { parts: (Uint8Array | string)[]; bytes: number };

const encoder = new TextEncoder();
const DONE = ' data-done';

export function preparePage(hash: string, html: string): PreparedPage {
  const items: Item[] = [];
  let from = 0;
  let sidebar: Sidebar | null = null;
  let progress = false;
  let account = false;
  const text = (end: number) => {
    // Text up to `end`: inside the sidebar it joins the current piece, elsewhere it is bytes.
    if (sidebar) sidebar.pieces[sidebar.pieces.length - 1] += html.slice(from, end);
    else if (end > from) items.push(encoder.encode(html.slice(from, end)));
    from = end;
  };
  // The sidebar ends with its last link's opening tag; after it the page is bytes again.
  const closeSidebar = () => {
    if (!sidebar) return;
    const close = html.indexOf('>', from);
    text(close === -1 ? html.length : close + 1);
    sidebar.bytes = utf8Length(sidebar.pieces.join(''));
    items.push(sidebar);
    sidebar = null;
  };
  for (const match of html.matchAll(HOOKS)) {
    const at = match.index;
    if (match[1] !== undefined) {
      if (!sidebar) {
        text(at);
        sidebar = { kind: 'sidebar', pieces: [''], slugs: [], bytes: 0 };
      }
      // The attribute stays; the slot is right after it.
      text(at + match[0].length);
      sidebar.slugs.push(match[1]);
      sidebar.pieces.push('');
    } else if (match[0] === PROGRESS_MARKER ? !progress : !account) {
      // The hook itself is replaced; only its first occurrence counts.
      closeSidebar();
      text(at);
      items.push(match[0] === PROGRESS_MARKER ? { kind: 'progress' } : { kind: 'account' });
      if (match[0] === PROGRESS_MARKER) progress = true;
      else account = true;
      from = at + match[0].length;
    }
  }
  closeSidebar();
  text(html.length);
  let bytes = 0;
  for (const item of items) bytes += item instanceof Uint8Array ? item.byteLength : item.kind === 'sidebar' ? item.bytes : 0;
  return { hash, items, bytes, texts: messagesFor(LANG.exec(html.slice(0, 2048))?.[1] ?? 'en-US') };
}

/** The page for one member: the prepared bytes, with the member's state between them. */
export function renderPage(page: PreparedPage, state: MemberState): BodyParts {
  const parts: (Uint8Array | string)[] = [];
  let bytes = page.bytes;
  for (const item of page.items) {
    if (item instanceof Uint8Array) {
      parts.push(item);
    } else if (item.kind === 'sidebar') {
      let html = item.pieces[0]!;
      for (let i = 0; i < item.slugs.length; i++) {
        if (state.done.has(item.slugs[i]!)) {
          html += DONE;
          bytes += DONE.length;
        }
        html += item.pieces[i + 1]!;
      }
      parts.push(html);
    } else if (item.kind === 'progress') {
      if (page.forms?.course !== state.course || page.forms.lesson !== state.lesson) page.forms = formsFor(page.texts, state.course, state.lesson);
      const [form, length] = state.done.has(state.lesson) ? page.forms.done : page.forms.open;
      parts.push(form);
      bytes += length;
    } else {
      const link = `data-account-link data-signed-in>${escapeHtml(state.email)}</a>`;
      parts.push(link);
      bytes += utf8Length(link);
    }
  }
  return { parts, bytes };
}

/** The parts as one byte array (for runtimes that want a single body). */
export function joinParts(body: BodyParts): Uint8Array {
  const out = new Uint8Array(body.bytes);
  let offset = 0;
  for (const part of body.parts) {
    const bytes = typeof part === 'string' ? encoder.encode(part) : part;
    out.set(bytes, offset);
    offset += bytes.byteLength;
  }
  return out;
}

/** The same as a string, for tests and other callers that want text. */
export function injectMemberState(html: string, state: MemberState): string {
  return new TextDecoder().decode(joinParts(renderPage(preparePage('', html), state)));
}

function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function formsFor(t: Texts, course: string, lesson: string): NonNullable<PreparedPage['forms']> {
  const open = progressForm(t, course, lesson, false);
  const done = progressForm(t, course, lesson, true);
  return { course, lesson, open: [open, utf8Length(open)], done: [done, utf8Length(done)] };
}

/** The progress form: one button that marks the lesson complete and opens the next, or undoes it. */
export function progressForm(t: Texts, course: string, lesson: string, done: boolean): string {
  return (
    `<form class="lesson-progress${done ? ' is-done' : ''}" id="progress" method="post" action="/api/progress">` +
    `<input type="hidden" name="course" value="${escapeHtml(course)}"><input type="hidden" name="lesson" value="${escapeHtml(lesson)}">` +
    `<input type="hidden" name="done" value="${done ? '0' : '1'}">` +
    `<button class="button${done ? ' secondary' : ''}" type="submit">${escapeHtml(done ? t.lesson.completedUndo : t.lesson.completeAndContinue)}</button></form>`
  );
}

/**
 * Prepared pages by course and lesson, least recently used dropped first past `maxBytes`. An
 * entry is only used when the store says its hash is still the lesson's (the gate's query
 * compares them), so a content sync never leaves a stale page in service.
 */
export class PageCache {
  readonly #pages = new Map<string, PreparedPage>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes = 32 * 1024 * 1024) {
    this.#maxBytes = maxBytes;
  }

  get(key: string): PreparedPage | undefined {
    return this.#pages.get(key);
  }

  set(key: string, page: PreparedPage): void {
    const previous = this.#pages.get(key);
    if (previous) {
      this.#pages.delete(key);
      this.#bytes -= previous.bytes;
    }
    if (page.bytes > this.#maxBytes) return;
    this.#pages.set(key, page);
    this.#bytes += page.bytes;
    for (const [oldest, entry] of this.#pages) {
      if (this.#bytes <= this.#maxBytes) break;
      this.#pages.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  /** Marks an entry as just used (Map order is insertion order). */
  touch(key: string, page: PreparedPage): void {
    this.#pages.delete(key);
    this.#pages.set(key, page);
  }

  get size(): number {
    return this.#pages.size;
  }
}
