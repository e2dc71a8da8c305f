// The two forms of a log line: JSON for machines, a short line for a developer's terminal; which
// one a site writes follows LOG_FORMAT, or NODE_ENV when it is unset.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from './config.ts';
import { createLog } from './log.ts';

const AT = Date.parse('2026-11-02T12:00:01.234Z');

function lines(spy: { mock: { calls: unknown[][] } }): string[] {
  return spy.mock.calls.map((call) => String(call[0]));
}

afterEach(() => vi.restoreAllMocks());

describe('createLog', () => {
  it('writes one JSON object a line, warnings and errors to stderr, below the level nothing', () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const log = createLog({ level: 'info', format: 'json' }, () => AT);
    log.debug('noise');
    log.info('request', { id: 'ab12', method: 'GET', path: '/courses/', status: 200, ms: 3.1 });
    log.error('request', { method: 'POST', path: '/api/checkout', status: 500, ms: 12 });
    expect(lines(out).map((line) => JSON.parse(line))).toEqual([
      { time: '2026-11-02T12:00:01.234Z', level: 'info', event: 'request', id: 'ab12', method: 'GET', path: '/courses/', status: 200, ms: 3.1 },
    ]);
    expect(JSON.parse(lines(err)[0]!)).toMatchObject({ level: 'error', status: 500 });
  });

  it('writes a short line in text form: a request as method, path, status and time, other events with their fields', () => {
    const out = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const log = createLog({ level: 'debug', format: 'text' }, () => AT);
    log.info('request', { id: 'ab12', method: 'GET', path: '/courses/', status: 200, ms: 3.1, address: '127.0.0.1' });
    log.debug('lesson-gate.ready', { paidLessons: 20, missing: undefined });
    log.warn('config.payments-off', { hint: 'set STRIPE_SECRET_KEY (npm start runs a local Stripe stand-in)' });
    expect(lines(out)).toEqual(['12:00:01 INFO  GET /courses/ 200 3.1 ms id=ab12 address=127.0.0.1', '12:00:01 DEBUG lesson-gate.ready paidLessons=20']);
    expect(lines(err)).toEqual(['12:00:01 WARN  config.payments-off hint="set STRIPE_SECRET_KEY (npm start runs a local Stripe stand-in)"']);
  });
});

describe('LOG_FORMAT', () => {
  it('is text in development and JSON in production and tests unless set', () => {
    expect(parseConfig({}).logFormat).toBe('text');
    expect(parseConfig({ NODE_ENV: 'test' }).logFormat).toBe('json');
    expect(parseConfig({ NODE_ENV: 'development', LOG_FORMAT: 'json' }).logFormat).toBe('json');
    expect(parseConfig({ NODE_ENV: 'test', LOG_FORMAT: 'text' }).logFormat).toBe('text');
    expect(() => parseConfig({ LOG_FORMAT: 'yaml' })).toThrow(/LOG_FORMAT/);
  });
});
