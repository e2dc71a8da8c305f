// `npm run bench:search -- --store file:data/bench-search.db`: the time of search queries
// (searchLessons, the query GET /api/search makes) on a store the content sync filled, e.g. from
// the 200 × 30 generated corpus. Reported per kind of search as p50 / p99 / max over many runs,
// for a visitor and for a member who owns some courses. Gives a member access by writing a grant
// to the store it is pointed at: use a store made for measuring.
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { grantAccess } from '../src/server/access/ledger.ts';
import { openStore } from '../src/node/store.ts';
import { searchLessons, searchTerms } from '../src/server/content/search.ts';

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: process.env.DATABASE_URL ?? 'file:data/bench-search.db' },
    runs: { type: 'string', default: '300' },
    owned: { type: 'string', default: '5' },
  },
});
const runs = Number(values.runs);
const store = await openStore(values.store!);
const db = store.db;

const courses = await db.all<{ slug: string }>(sql`SELECT slug FROM courses WHERE published = 1 ORDER BY position`);
const [{ n: indexed } = { n: 0 }] = await db.all<{ n: number }>(sql`SELECT count(*) AS n FROM lesson_search`);
if (!courses.length || !indexed) throw new Error(`${values.store} has no synced courses or no search index: build a corpus and run the content sync first`);

const email = 'bench-search@example.com';
await db.run(sql`INSERT INTO users (email, password_hash, created_at, updated_at) VALUES (${email}, NULL, 0, 0) ON CONFLICT DO NOTHING`);
const [member] = await db.all<{ id: number }>(sql`SELECT id FROM users WHERE email = ${email}`);
const owned = courses.slice(0, Number(values.owned));
for (const course of owned) await grantAccess(db, { userId: member!.id, courseSlug: course.slug, reason: 'bench', now: Date.now() });

type Case = { name: string; query: string; memberId: number | null; course: string | null };
const middle = courses[Math.floor(courses.length / 2)]!.slug;
const cases: Case[] = [
  { name: 'visitor, all courses, one common word', query: 'python', memberId: null, course: null },
  { name: 'visitor, all courses, three words', query: 'function return value', memberId: null, course: null },
  { name: 'visitor, all courses, a word found nowhere', query: 'xylophonic', memberId: null, course: null },
  { name: 'visitor, one course, one common word', query: 'python', memberId: null, course: middle },
  { name: `member (${owned.length} courses), all courses, one common word`, query: 'python', memberId: member!.id, course: null },
  { name: `member (${owned.length} courses), all courses, three words`, query: 'function return value', memberId: member!.id, course: null },
  { name: 'member, an owned course, one common word', query: 'python', memberId: member!.id, course: owned[0]!.slug },
  { name: 'member, an owned course, a word found nowhere', query: 'xylophonic', memberId: member!.id, course: owned[0]!.slug },
];

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
console.log(`${courses.length} courses, ${indexed} lessons indexed; ${runs} runs a case after 20 to warm up\n`);
console.log('| search | results | p50 (ms) | p99 (ms) | max (ms) |');
console.log('|---|---|---|---|---|');
for (const c of cases) {
  const input = { terms: searchTerms(c.query), memberId: c.memberId, course: c.course };
  for (let i = 0; i < 20; i++) await searchLessons(db, input);
  const times: number[] = [];
  let results = 0;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    results = (await searchLessons(db, input)).length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`| ${c.name} | ${results} | ${percentile(times, 50).toFixed(2)} | ${percentile(times, 99).toFixed(2)} | ${times.at(-1)!.toFixed(2)} |`);
}
store.close();
