// A paid lesson's stored page with one member's state in it. The page is the same for every
// member; what differs is put in at the hooks the lesson view leaves:
//
// - ` data-lesson="<slug>"` on each sidebar link: ` data-done` follows it for a completed lesson;
// - PROGRESS_MARKER, an HTML comment: replaced by the "Mark as complete" (or undo) form;
// - `data-account-link>Account</a>` in the header: the member's email, so that the page's script
//   need not ask /api/me who is signed in.
//
// A page is cut at those hooks once, into UTF-8 bytes, when the gate first serves that version of
// it (`preparePage`); each request then only joins the parts with a few short inserts
// (`renderPage`): no HTML parser, no regular expression and no re-encoding of the page per request.
// A page without the hooks is served as it is.

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

const encoder = new TextEncoder();
const DONE = encoder.encode(' data-done');
const NOTHING = new Uint8Array(0);

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

/** The page for one member, as UTF-8 bytes. */
export function renderPage(page: PreparedPage, state: MemberState): Uint8Array {
  const inserts = page.slots.map((slot) => {
    if (slot.kind === 'done') return state.done.has(slot.slug) ? DONE : NOTHING;
    if (slot.kind === 'progress') return encoder.encode(progressForm(state.course, state.lesson, state.done.has(state.lesson)));
    return encoder.encode(`data-account-link data-signed-in>${escapeHtml(state.email)}</a>`);
  });
  let size = page.bytes;
  for (const insert of inserts) size += insert.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (let i = 0; i < page.parts.length; i++) {
    out.set(page.parts[i]!, offset);
    offset += page.parts[i]!.byteLength;
    const insert = inserts[i];
    if (insert) {
      out.set(insert, offset);
      offset += insert.byteLength;
    }
  }
  return out;
}

/** The same as a string, for tests and other callers that want text. */
export function injectMemberState(html: string, state: MemberState): string {
  return new TextDecoder().decode(renderPage(preparePage('', html), state));
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
