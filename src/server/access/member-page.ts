// A paid lesson's stored page with one member's state in it. The page is the same for every
// member; what differs is put in at the hooks the lesson view leaves:
//
// - ` data-lesson="<slug>"` on each sidebar link: ` data-done` follows it for a completed lesson;
// - PROGRESS_MARKER, an HTML comment: replaced by the "Mark as complete" (or undo) form;
// - `data-account-link>Account</a>` in the header: the member's email, so that the page's script
//   need not ask /api/me who is signed in.
//
// A page is cut at those hooks once, into UTF-8 bytes, when the gate first serves that version of
// it (`preparePage`); a request's page is then those same bytes with a few short strings between
// them (`renderPage`), which Node writes to the socket as they are (one writev): no HTML parser, no
// regular expression, no copy and no re-encoding of the page per request. (A byte buffer per
// request would cost more than it seems: thousands of short-lived ArrayBuffers make every young
// generation GC slow, and those pauses are the tail latency.) A page without hooks is served as it is.

/** Where the lesson view leaves room for the progress form of paid lessons. */
export const PROGRESS_MARKER = '<!--lesson-progress-->';
const ACCOUNT_LINK = 'data-account-link>Account</a>';
const HOOKS = / data-lesson="([a-z0-9-]+)"|<!--lesson-progress-->|data-account-link>Account<\/a>/g;

type Slot = { kind: 'done'; slug: string } | { kind: 'progress' } | { kind: 'account' };

export type PreparedPage = {
  /** The stored content hash of the page this was cut from. */
  hash: string;
  /** The page's bytes around the slots: `parts.length === slots.length + 1`. */
  parts: Uint8Array[];
  slots: Slot[];
  bytes: number;
};

export type MemberState = { course: string; lesson: string; done: ReadonlySet<string>; email: string };

/** A response body in pieces, to be written in order; `bytes` is their UTF-8 length. */
export type BodyParts = { parts: (Uint8Array | string)[]; bytes: number };

const encoder = new TextEncoder();
const DONE = ' data-done';

export function preparePage(hash: string, html: string): PreparedPage {
  const parts: Uint8Array[] = [];
  const slots: Slot[] = [];
  let from = 0;
  let progress = false;
  let account = false;
  for (const match of html.matchAll(HOOKS)) {
    const at = match.index;
    if (match[1] !== undefined) {
      // The attribute stays; the slot is right after it.
      const end = at + match[0].length;
      parts.push(encoder.encode(html.slice(from, end)));
      slots.push({ kind: 'done', slug: match[1] });
      from = end;
    } else if (match[0] === PROGRESS_MARKER ? !progress : !account) {
      // The hook itself is replaced; only its first occurrence counts.
      parts.push(encoder.encode(html.slice(from, at)));
      if (match[0] === PROGRESS_MARKER) {
        progress = true;
        slots.push({ kind: 'progress' });
      } else {
        account = true;
        slots.push({ kind: 'account' });
      }
      from = at + match[0].length;
    }
  }
  parts.push(encoder.encode(html.slice(from)));
  return { hash, parts, slots, bytes: parts.reduce((sum, part) => sum + part.byteLength, 0) };
}

/** The page for one member: the prepared bytes, with the member's state between them. */
export function renderPage(page: PreparedPage, state: MemberState): BodyParts {
  const out: (Uint8Array | string)[] = [page.parts[0]!];
  let bytes = page.bytes;
  for (let i = 0; i < page.slots.length; i++) {
    const slot = page.slots[i]!;
    let insert = '';
    if (slot.kind === 'done') insert = state.done.has(slot.slug) ? DONE : '';
    else if (slot.kind === 'progress') insert = progressForm(state.course, state.lesson, state.done.has(state.lesson));
    else insert = `data-account-link data-signed-in>${escapeHtml(state.email)}</a>`;
    if (insert) {
      out.push(insert);
      bytes += utf8Length(insert);
    }
    out.push(page.parts[i + 1]!);
  }
  return { parts: out, bytes };
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

/** The progress form: one button that marks the lesson complete, or undoes it. */
export function progressForm(course: string, lesson: string, done: boolean): string {
  return (
    `<form class="lesson-progress${done ? ' is-done' : ''}" id="progress" method="post" action="/api/progress">` +
    `<input type="hidden" name="course" value="${escapeHtml(course)}"><input type="hidden" name="lesson" value="${escapeHtml(lesson)}">` +
    `<input type="hidden" name="done" value="${done ? '0' : '1'}">` +
    `<button class="button${done ? ' secondary' : ''}" type="submit">${done ? 'Completed ✓ (undo)' : 'Mark as complete'}</button></form>`
  );
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
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
