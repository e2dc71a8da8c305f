// The lesson gate: serves each paid lesson page, and each private image of a paid lesson, only to
// a member entitled to the course. It is the busiest path of the site, so it is built to cost
// one store query and a few string operations per request:
//
// - The session token is verified first, without the store (and verifications are remembered;
//   the session module, auth/session.ts, does both). An anonymous request never reaches the store: an in-memory index of the paid lessons tells a
//   lesson that exists from one that does not (404), and holds what the visitor may see of it (its
//   title, its course, the price): a page that offers to buy the course or to sign in.
// - A signed-in request makes exactly one query, which returns the member's session version and
//   the end of the token's session row (`sessionColumnsSql`, checked by `settleSession`), whether the member may read the course (`mayReadSql`: access as `hasAccessSql` defines it, or the admin role), the
//   page and its content hash, the member's completed lessons in the course, and the lesson they
//   last opened in it.
// - Opening a lesson records it as the member's last read in the course (where "Continue" leads),
//   but only when it is not the one already recorded: reading on costs one small write per new
//   lesson, and re-reading (or revalidating) a page costs none (docs/decisions/0019).
// - The stored page is the same for every member; the member's state (completed lessons in the
//   sidebar, the "Complete and continue" form, the account link) is put in at hooks the lesson view
//   leaves (member-page.ts). No HTML parser and no Markdown at request time. Each page version is
//   cut at its hooks once and kept in memory; the query sends the page only when the version the
//   gate holds is not the stored one, so a member's request usually moves no page out of the store.
//
// The core has no Node and no Astro in it: `answer` works on a plain request description so that
// the Node entry can call it without building a Fetch Request, and `handle` is the same gate as a
// Handler for runtimes that speak Fetch (Cloudflare).
import { sql, type SQL } from 'drizzle-orm';
import type { AppContext, Clock, Db, Handler } from '../context.ts';
import type { Log } from '../log.ts';
import { mayReadSql } from './ledger.ts';
import { joinParts, PageCache, preparePage, renderPage, type BodyParts, type PreparedPage } from './member-page.ts';
import { clearSessionCookies, mayBeUnseen, readSession, sessionColumnsSql, settleSession, signInPath, type SessionRecord } from '../auth/session.ts';
import { caughtUp } from '../db/replica.ts';
import { html } from '../http/html.ts';
import { pageHtml } from '../http/page-shell.ts';
import { formatMoney, messagesOf } from '../i18n/index.ts';

/**
 * The loose filter for slugs in a request: what the catalogue makes (its strict rule is
 * AUTHORED_SLUG in src/catalog/schema.ts), with room to spare; nothing else is looked up.
 */
export const REQUEST_SLUG = /^[a-z0-9][a-z0-9-]{0,79}$/;
/** Private media names are content hashes with a suffix (`1a84a8a3f2a81a82-1280.webp`). */
export const MEDIA_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;
const MAX_MEDIA_NAME = 200;

/** Bumped when the markup the gate injects changes, so that no browser keeps an older page. */
const INJECTION_VERSION = '2';

export type GatePath = { kind: 'lesson'; course: string; lesson: string } | { kind: 'media'; course: string; name: string };

/**
 * The lesson or media a request target (path and query, as sent, not decoded) names, or null.
 * Only `/courses/<course>/<lesson>` (optionally with one trailing slash) and
 * `/courses/<course>/media/<name>` are accepted, each part checked against its pattern, so that
 * no encoding (`%2e%2e`, `%2F`), dot segment, doubled or back slash reaches a query.
 */
export function parseGatePath(target: string): GatePath | null {
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  if (!path.startsWith('/courses/') || path.length > 400) return null;
  const parts = path.slice('/courses/'.length).split('/');
  const [course = '', second = '', third] = parts;
  if (!REQUEST_SLUG.test(course)) return null;
  if (parts.length === 2 || (parts.length === 3 && third === '')) {
    return REQUEST_SLUG.test(second) ? { kind: 'lesson', course, lesson: second } : null;
  }
  if (parts.length === 3 && second === 'media' && third !== undefined && third.length <= MAX_MEDIA_NAME && MEDIA_NAME.test(third)) {
    return { kind: 'media', course, name: third };
  }
  return null;
}

export function lessonPath(course: string, lesson: string): string {
  return `/courses/${course}/${lesson}/`;
}

/**
 * What anyone may know of a paid lesson (the course page's syllabus shows as much): enough for the
 * page that offers a visitor who is not signed in to buy the course, or to sign in.
 */
export type PaidLesson = {
  title: string;
  /** Null for a lesson whose course has no row (nothing to buy). */
  courseTitle: string | null;
  priceMinor: number | null;
  currency: string | null;
  published: number | null;
  comingSoon: number | null;
  saleEndsAt: number | null;
};

/** Which paid lessons exist, so that anonymous requests are answered without the store. */
export type LessonIndex = {
  has(course: string, lesson: string, db: Db): Promise<boolean>;
  /** The lesson, or null when there is no published paid lesson by that name. */
  get(course: string, lesson: string, db: Db): Promise<PaidLesson | null>;
};

export type RefreshingLessonIndex = LessonIndex & {
  /** Loads the index now, in the caller's own request (the Node server does it once before it listens). */
  refresh(db: Db): Promise<void>;
  size(): number;
};

/**
 * The published paid lessons, reloaded at most every `refreshMs` (a content sync on a running
 * server shows within that time; meanwhile an anonymous visitor of a brand-new lesson gets a 404
 * instead of the sign-in page, and members are not affected: their query reads the store itself).
 * A failed reload keeps the previous index and is logged.
 *
 * No load is ever shared between requests: workerd does not let one request wait for I/O begun by
 * another (the waiting request hangs for good once the first one ends), and a load left pending by
 * a cancelled request would otherwise block every reload after it. The index keeps only plain
 * data. Before the first load, each request that needs the index loads it itself; after that, the
 * first request to find it stale reloads it (and waits for that one query), and the others read
 * the index they have meanwhile.
 */
export function createLessonIndex(clock: Clock, log: Log, options: { refreshMs?: number } = {}): RefreshingLessonIndex {
  const refreshMs = options.refreshMs ?? 15_000;
  let keys: Map<string, PaidLesson> | null = null;
  let dueAt = -Infinity;
  const refresh = async (db: Db): Promise<void> => {
    // Claimed before the query, so that concurrent requests do not all reload.
    dueAt = clock.now() + refreshMs;
    try {
      const rows = await db.all<{ course: string; lesson: string } & PaidLesson>(
        sql`SELECT l.course_slug AS course, l.slug AS lesson, l.title AS title, c.title AS courseTitle, c.price_minor AS priceMinor,
              c.currency AS currency, c.published AS published, c.coming_soon AS comingSoon, c.sale_ends_at AS saleEndsAt
            FROM lessons l LEFT JOIN courses c ON c.slug = l.course_slug
            WHERE l.published = 1 AND l.preview = 0`,
      );
      keys = new Map(
        rows.map(({ course, lesson, ...shown }) => [
          `${course}/${lesson}`,
          {
            title: shown.title,
            courseTitle: shown.courseTitle ?? null,
            priceMinor: shown.priceMinor ?? null,
            currency: shown.currency ?? null,
            published: shown.published ?? null,
            comingSoon: shown.comingSoon ?? null,
            saleEndsAt: shown.saleEndsAt ?? null,
          },
        ]),
      );
    } catch (error) {
      // Tried again at the next request after the interval, not at every request.
      log.error('lesson-index.refresh-failed', { error: error instanceof Error ? error.message : String(error) });
      if (!keys) throw error;
    }
  };
  const get = async (course: string, lesson: string, db: Db): Promise<PaidLesson | null> => {
    if (!keys || clock.now() >= dueAt) await refresh(db);
    return keys!.get(`${course}/${lesson}`) ?? null;
  };
  return {
    get,
    has: async (course, lesson, db) => (await get(course, lesson, db)) !== null,
    refresh,
    size: () => keys?.size ?? 0,
  };
}

/** What the gate needs of a request; a Fetch Request or a Node request is turned into this. */
export type GateRequest = {
  method: string;
  /** Path and query exactly as sent. */
  target: string;
  cookie: string | null;
  ifNoneMatch: string | null;
  /** The request's full URL; only read when a cookie is set (its Secure flag). */
  url(): string;
};

export type GateAnswer = {
  status: number;
  headers: Record<string, string | string[]>;
  /** Null for redirects, 304 and HEAD; a page in parts for a lesson (see member-page.ts). */
  body: string | Uint8Array | BodyParts | null;
};

/** What the gate's one query returns about a member and a lesson (no row: no such member). */
export type LessonRecord = SessionRecord & {
  email: string;
  entitled: number;
  /** Null: no published paid lesson by that name. */
  hash: string | null;
  html: string | null;
  /** The member's completed lessons in the course, space-separated. */
  done: string | null;
  /** The lesson of the course the member last opened, if any. */
  lastRead: string | null;
};

/** What the gate's one query returns about a member and a private file (no row: no such member). */
export type MediaRecord = SessionRecord & {
  /** Both null unless the member may read the course and the file exists. */
  type: string | null;
  body: ArrayBuffer | Uint8Array | number[] | null;
};

/**
 * SQL: the gate's one query for a lesson. A function of SQL expressions so that the same text
 * serves as a drizzle query with bound values and, compiled once with named parameters, as a
 * prepared statement (the Node adapter). The page comes back unless its hash is `knownHash` (the
 * version the gate already holds), whether or not the member may read it: evaluating the access
 * rule a second time would cost more than a page the gate then drops.
 */
export function lessonQuery(userId: SQL | number, sessionId: SQL | string, course: SQL | string, lesson: SQL | string, knownHash: SQL | string): SQL {
  return sql`SELECT ${sessionColumnsSql(sessionId)}, u.email AS email,
      ${mayReadSql(course)} AS entitled,
      l.content_hash AS hash, CASE WHEN l.content_hash = ${knownHash} THEN NULL ELSE l.html END AS html,
      (SELECT group_concat(p.lesson_slug, ' ') FROM lesson_progress p WHERE p.user_id = u.id AND p.course_slug = ${course}) AS done,
      (SELECT r.lesson_slug FROM lesson_reads r WHERE r.user_id = u.id AND r.course_slug = ${course}) AS lastRead
    FROM users u
    LEFT JOIN lessons l ON l.course_slug = ${course} AND l.slug = ${lesson} AND l.published = 1 AND l.preview = 0
    WHERE u.id = ${userId}`;
}

/** Records `lesson` as the member's last opened lesson of `course`. */
export async function recordRead(ctx: Pick<AppContext, 'db' | 'clock'>, userId: number, course: string, lesson: string): Promise<void> {
  await ctx.db.run(sql`INSERT INTO lesson_reads (user_id, course_slug, lesson_slug, read_at) VALUES (${userId}, ${course}, ${lesson}, ${ctx.clock.now()})
    ON CONFLICT (user_id, course_slug) DO UPDATE SET lesson_slug = excluded.lesson_slug, read_at = excluded.read_at`);
}

/** SQL: the gate's one query for a private file; the body is only read for an entitled member. */
export function mediaQuery(userId: SQL | number, sessionId: SQL | string, course: SQL | string, name: SQL | string): SQL {
  return sql`SELECT ${sessionColumnsSql(sessionId)},
      CASE WHEN ${mayReadSql(course)} THEN m.content_type END AS type,
      CASE WHEN ${mayReadSql(course)} THEN m.body END AS body
    FROM users u
    LEFT JOIN private_media m ON m.course_slug = ${course} AND m.name = ${name}
    WHERE u.id = ${userId}`;
}

/** The gate's reads of the store: each is exactly one statement. */
export type GateReads = {
  lesson(userId: number, sessionId: string, course: string, lesson: string, knownHash: string): Promise<LessonRecord | undefined>;
  media(userId: number, sessionId: string, course: string, name: string): Promise<MediaRecord | undefined>;
};

/**
 * The reads through the store's drizzle API: every runtime (libSQL, D1). `all`, not `get`: a raw
 * `get` throws where no member matches (a deleted account) instead of answering nothing.
 */
export function storeReads(db: Db): GateReads {
  return {
    lesson: async (userId, sessionId, course, lesson, knownHash) => (await db.all<LessonRecord>(lessonQuery(userId, sessionId, course, lesson, knownHash)))[0],
    media: async (userId, sessionId, course, name) => (await db.all<MediaRecord>(mediaQuery(userId, sessionId, course, name)))[0],
  };
}

export type LessonGateOptions = {
  index: LessonIndex;
  /** The site's own 404 page (dist/client/404.html on Node). */
  notFoundHtml: string;
  /** A faster way to make the same reads (Node: prepared statements); default: `storeReads(ctx.db)`. */
  reads?: GateReads;
  /** Prepared pages kept in memory (default: 32 MB). */
  pages?: PageCache;
};

export type LessonGate = {
  answer(request: GateRequest, ctx: AppContext): Promise<GateAnswer>;
  handle: Handler;
};

const HTML = 'text/html; charset=utf-8';

export function createLessonGate(options: LessonGateOptions): LessonGate {
  const { index, notFoundHtml } = options;
  const readsOf = (ctx: AppContext): GateReads => options.reads ?? storeReads(ctx.db);
  const pages = options.pages ?? new PageCache();

  function notFound(head: boolean, setCookies: string[]): GateAnswer {
    const headers: Record<string, string | string[]> = { 'Content-Type': HTML, 'Cache-Control': 'no-store' };
    if (setCookies.length) headers['Set-Cookie'] = setCookies;
    return { status: 404, headers, body: head ? null : notFoundHtml };
  }

  /**
   * A paid lesson for a visitor who is not signed in: its title, its course, the price and the buy
   * button, and sign-in for owners, back to the lesson. 403, not 200: nothing of the lesson is
   * here, and the status says so to anything that reads only statuses. No paid text: only what the
   * course page shows anyone.
   */
  async function locked(
    path: { course: string; lesson: string },
    lesson: PaidLesson,
    head: boolean,
    setCookies: string[],
    ctx: AppContext,
  ): Promise<GateAnswer> {
    const headers: Record<string, string | string[]> = { 'Content-Type': HTML, 'Cache-Control': 'no-store' };
    if (setCookies.length) headers['Set-Cookie'] = setCookies;
    if (head) return { status: 403, headers, body: null };
    const t = await messagesOf(ctx);
    const courseHref = `/courses/${path.course}/`;
    const courseTitle = lesson.courseTitle ?? path.course;
    const now = ctx.clock.now();
    const onSale =
      lesson.published === 1 &&
      lesson.comingSoon !== 1 &&
      lesson.priceMinor !== null &&
      lesson.currency !== null &&
      (lesson.saleEndsAt === null || now < lesson.saleEndsAt);
    const offer = onSale
      ? html`<form method="post" action="/api/checkout">
        <input type="hidden" name="course" value="${path.course}" />
        <button class="button" type="submit">${t.course.buyFor(formatMoney(t, lesson.priceMinor!, lesson.currency!))}</button>
      </form>
      <p class="muted">${t.course.oneTime}</p>`
      : html`<p>${t.locked.notOnSale} <a href="${courseHref}">${t.locked.seeCourse}</a></p>`;
    const main = html`<section class="wrap auth locked-lesson">
    <h1>${lesson.title}</h1>
    <p>${t.locked.partOf(courseHref, courseTitle)} ${t.locked.forBuyers}</p>
    ${offer}
    <p>${t.locked.owners(signInPath(lessonPath(path.course, path.lesson)))}</p>
  </section>`;
    const body = pageHtml(await ctx.pageShell(), { title: lesson.title, description: t.locked.description(courseTitle), main });
    return { status: 403, headers, body };
  }

  function redirect(location: string, setCookies: string[]): GateAnswer {
    const headers: Record<string, string | string[]> = { Location: location, 'Cache-Control': 'no-store' };
    if (setCookies.length) headers['Set-Cookie'] = setCookies;
    return { status: 303, headers, body: null };
  }

  async function answer(request: GateRequest, ctx: AppContext): Promise<GateAnswer> {
    const path = parseGatePath(request.target);
    const head = request.method === 'HEAD';
    if (request.method !== 'GET' && !head) {
      return {
        status: 405,
        headers: { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' },
        body: `${(await messagesOf(ctx)).page.methodNotAllowed}\n`,
      };
    }
    if (!path) return notFound(head, []);

    const read = await readSession(request.cookie, ctx);
    if (!read.claims) {
      const cleared = read.hadToken ? clearSessionCookies(request.url(), ctx.config, read) : [];
      // Private media answer 404 to anyone who may not read them, signed in or not: a 403 or a
      // redirect would confirm that a name exists, and an image has no page to offer anything on.
      const lesson = path.kind === 'lesson' ? await index.get(path.course, path.lesson, ctx.db) : null;
      if (path.kind === 'media' || !lesson) return notFound(head, cleared);
      return locked(path, lesson, head, cleared, ctx);
    }
    const session = { ...read, claims: read.claims };
    const { userId } = session.claims;
    const sessionId = session.claims.sessionId ?? '';
    if (path.kind === 'media') return media(path, userId, sessionId, session, head, request, ctx);

    const key = `${path.course}/${path.lesson}`;
    const held = pages.get(key);
    let row = await readsOf(ctx).lesson(userId, sessionId, path.course, path.lesson, held?.hash ?? '');
    // On a replica, a "no" may only mean the copy is behind (a purchase or sign-in through another
    // server): asked again after a sync. An entitled read never waits (docs/decisions/0016).
    if (ctx.replica && (mayBeUnseen(session.claims, row) || (row && row.hash !== null && !row.entitled)) && (await caughtUp(ctx))) {
      row = await readsOf(ctx).lesson(userId, sessionId, path.course, path.lesson, held?.hash ?? '');
    }
    const settled = await settleSession(session, row, request.url(), ctx);
    if (!settled.valid || !row) {
      // A token the store no longer accepts (signed out, signed out everywhere, password changed,
      // past the session's end, account gone).
      const lesson = await index.get(path.course, path.lesson, ctx.db);
      if (!lesson) return notFound(head, settled.setCookies);
      return locked(path, lesson, head, settled.setCookies, ctx);
    }
    const renewed = settled.setCookies;
    if (row.hash === null) return notFound(head, renewed);
    if (!row.entitled) return redirect(`/courses/${path.course}/#not-owned`, renewed);

    let page: PreparedPage | null = null;
    if (row.html !== null) {
      page = preparePage(row.hash, row.html);
      pages.set(key, page);
    } else if (held && held.hash === row.hash) {
      page = held;
      pages.touch(key, held);
    }
    if (!page) {
      ctx.log.error('lesson-gate.page-missing', { course: path.course, lesson: path.lesson });
      return notFound(head, renewed);
    }

    // A HEAD is not a read. The write is awaited so that the next "Continue" sees it on every
    // runtime; a failure costs the member only that, never the page.
    if (!head && row.lastRead !== path.lesson) {
      await recordRead(ctx, userId, path.course, path.lesson).catch((error: unknown) =>
        ctx.log.error('lesson-gate.record-read-failed', {
          course: path.course,
          lesson: path.lesson,
          error: error instanceof Error ? error.message : String(error),
        }),
      );
    }

    const done = row.done ? row.done.split(' ').sort() : [];
    const etag = `"${row.hash}.${fingerprint(`${INJECTION_VERSION}|${userId}|${row.email}|${done.join(' ')}`)}"`;
    const headers: Record<string, string | string[]> = {
      'Content-Type': HTML,
      // Stored by the member's browser only, and checked with the ETag at every visit: a lesson
      // marked complete, or access taken away (a refund), shows at once. The gate decides before
      // it answers 304.
      'Cache-Control': 'private, no-cache',
      ETag: etag,
      Vary: 'Cookie',
    };
    if (renewed.length) headers['Set-Cookie'] = renewed;
    if (request.ifNoneMatch !== null && etagMatches(request.ifNoneMatch, etag)) {
      return { status: 304, headers, body: null };
    }
    if (head) return { status: 200, headers, body: null };
    const body = renderPage(page, { course: path.course, lesson: path.lesson, done: new Set(done), email: row.email });
    return { status: 200, headers, body };
  }

  async function media(
    path: { course: string; name: string },
    userId: number,
    sessionId: string,
    session: Parameters<typeof settleSession>[0],
    head: boolean,
    request: GateRequest,
    ctx: AppContext,
  ): Promise<GateAnswer> {
    let row = await readsOf(ctx).media(userId, sessionId, path.course, path.name);
    if (ctx.replica && (mayBeUnseen(session.claims, row) || row?.type === null) && (await caughtUp(ctx))) {
      row = await readsOf(ctx).media(userId, sessionId, path.course, path.name);
    }
    const settled = await settleSession(session, row, request.url(), ctx);
    if (!settled.valid || !row) return notFound(head, settled.setCookies);
    if (row.type === null || row.body === null) return notFound(head, settled.setCookies);
    const body = row.body instanceof Uint8Array ? row.body : row.body instanceof ArrayBuffer ? new Uint8Array(row.body) : Uint8Array.from(row.body);
    // Names are content hashes, so the name is the file's validator. The browser keeps the file but
    // asks again at every view (`no-cache`): after a refund the gate answers 404, not the cache.
    // Never a shared cache.
    const headers: Record<string, string | string[]> = {
      'Content-Type': row.type,
      'Cache-Control': 'private, no-cache',
      ETag: `"${path.name}"`,
      Vary: 'Cookie',
      'X-Content-Type-Options': 'nosniff',
    };
    if (settled.setCookies.length) headers['Set-Cookie'] = settled.setCookies;
    if (request.ifNoneMatch !== null && etagMatches(request.ifNoneMatch, `"${path.name}"`)) return { status: 304, headers, body: null };
    headers['Content-Length'] = String(body.byteLength);
    return { status: 200, headers, body: head ? null : body };
  }

  const handle: Handler = async (request, ctx) => {
    const url = new URL(request.url);
    const result = await answer(
      {
        method: request.method,
        target: request.url.slice(url.origin.length),
        cookie: request.headers.get('cookie'),
        ifNoneMatch: request.headers.get('if-none-match'),
        url: () => request.url,
      },
      ctx,
    );
    return toResponse(result);
  };

  return { answer, handle };
}

export function toResponse(result: GateAnswer): Response {
  const headers = new Headers();
  for (const [name, value] of Object.entries(result.headers)) {
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const { body } = result;
  const bytes = body !== null && typeof body === 'object' && 'parts' in body ? joinParts(body) : body;
  return new Response(bytes as BodyInit | null, { status: result.status, headers });
}

/** If-None-Match holds our ETag (weak comparison, as RFC 9110 asks for this header). */
export function etagMatches(header: string, etag: string): boolean {
  for (const part of header.split(',')) {
    const tag = part.trim();
    if (tag === '*' || tag === etag || (tag.startsWith('W/') && tag.slice(2) === etag)) return true;
  }
  return false;
}

/** FNV-1a, 32 bits, base 36: a short, fast fingerprint of the member's state (not a secret). */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}
