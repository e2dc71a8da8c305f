// The lesson index never makes one request wait for a load another request began: on workerd that
// wait never ends once the first request is over (the hang of issue 16). A load that never
// finishes stands for that request here.
import { describe, expect, it } from 'vitest';
import type { Db } from '../context.ts';
import { createLessonIndex } from './lesson-gate.ts';

const log = { debug() {}, info() {}, warn() {}, error() {} };

/** A store whose lesson query answers `rows`, or never when `hang` is set; counts its queries. */
function store(rows: { course: string; lesson: string }[]) {
  const state = { queries: 0, hang: false };
  const db = {
    all: () => {
      state.queries += 1;
      return state.hang ? new Promise(() => {}) : Promise.resolve(rows);
    },
  } as unknown as Db;
  return { db, state };
}

describe('the lesson index', () => {
  it('is loaded by each request that needs it before its first load, without waiting for another request', async () => {
    const clock = { now: () => 0 };
    const index = createLessonIndex(clock, log);
    const { db, state } = store([{ course: 'c', lesson: 'paid' }]);
    state.hang = true;
    // The first request's load never finishes (its request was cancelled, or ended).
    void index.has('c', 'paid', db);
    state.hang = false;
    // The next request does not wait for it: it loads for itself.
    expect(await index.has('c', 'paid', db)).toBe(true);
    expect(await index.has('c', 'free', db)).toBe(false);
    expect(state.queries).toBe(2);
  });

  it('is reloaded by the first request that finds it stale; the others answer from what it holds', async () => {
    let now = 0;
    const index = createLessonIndex({ now: () => now }, log, { refreshMs: 1000 });
    const first = store([{ course: 'c', lesson: 'old' }]);
    expect(await index.has('c', 'old', first.db)).toBe(true);
    now = 1000;
    const second = store([{ course: 'c', lesson: 'new' }]);
    second.state.hang = true;
    void index.has('c', 'new', second.db);
    // A reload is under way and will never finish: other requests answer at once from the old index.
    expect(await index.has('c', 'old', second.db)).toBe(true);
    expect(second.state.queries).toBe(1);
    // Past the next interval, a request reloads for itself.
    now = 2000;
    second.state.hang = false;
    expect(await index.has('c', 'new', second.db)).toBe(true);
    expect(await index.has('c', 'old', second.db)).toBe(false);
  });
});
