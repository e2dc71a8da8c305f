// Attacks with request bodies, sent as an attacker would: on a raw socket, chunked (no length to
// refuse up front), oversized, or cut off halfway. None may stop the server, change the store, or
// make the process hold more than the body limit in memory.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { startPaymentsSite, type PaymentsSite } from '../support/payments.ts';

let site: PaymentsSite;
let origin: string;

beforeAll(async () => {
  site = await startPaymentsSite(inject('dist'));
  origin = new URL(site.siteUrl).origin;
});
afterAll(async () => {
  await site?.stop();
});

/** Every row of the tables a request could write, except the attempt counters. */
async function storeRows(): Promise<string> {
  const tables = ['users', 'auth_tokens', 'purchases', 'access_ledger', 'stripe_events', 'course_waitlist'];
  const dump: Record<string, unknown[]> = {};
  for (const table of tables) dump[table] = (await site.store.client.execute(`SELECT * FROM ${table} ORDER BY rowid`)).rows;
  return JSON.stringify(dump);
}

/** The server still serves, and it is the same process: nothing took it down. */
async function expectAlive() {
  expect(site.server.exited()).toBeNull();
  expect((await fetch(`${site.server.url}/healthz`)).status).toBe(200);
  expect(site.server.exited()).toBeNull();
}

function open(): Promise<{ socket: Socket; answer: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(site.server.port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('error', () => {}); // a reset after the server's answer is expected
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('connect', () => resolve({ socket, answer: () => answer, closed }));
    socket.once('error', reject);
  });
}

/**
 * How the server refused an oversized body: its 413, or, when it hung up on the refused rest before
 * this client read the answer (a reset discards what the client had not read yet), `closed`.
 * Never anything else, and never a wait: a server that keeps the connection open fails here.
 */
async function refusal(answer: () => string, closed: Promise<void>): Promise<string> {
  const ended = await Promise.race([closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 5000))]);
  return answer() ? answer().slice(0, 'HTTP/1.1 413'.length) : String(ended);
}

/** Writes `bytes` of chunked body in 64 KiB chunks, as long as the server keeps reading; returns how many it took. */
async function sendChunked(socket: Socket, bytes: number, closed: Promise<void>): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 'a');
  const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
  let gone = false;
  void closed.then(() => (gone = true));
  let sent = 0;
  while (sent < bytes && !gone && !socket.destroyed) {
    const drained = socket.write(frame);
    sent += chunk.length;
    if (!drained) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
  }
  if (!gone && !socket.destroyed) socket.write('0\r\n\r\n');
  return sent;
}

function head(path: string, headers: Record<string, string>): string {
  return `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
}

const FORM_ENDPOINTS = [
  '/api/auth/login',
  '/api/auth/signup',
  '/api/auth/reset-request',
  '/api/auth/link-request',
  '/api/auth/logout',
  '/api/checkout',
  '/api/waitlist',
];

test('a chunked form post of more than 1 MB, with an Origin, to every form endpoint: 413, and the server lives on', async () => {
  const before = await storeRows();
  for (const path of FORM_ENDPOINTS) {
    const { socket, answer, closed } = await open();
    socket.write(head(path, { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked' }));
    await sendChunked(socket, 3 * 1024 * 1024, closed);
    const refused = await refusal(answer, closed);
    socket.destroy();
    expect(['HTTP/1.1 413', 'closed'], path).toContain(refused);
    await expectAlive();
  }
  expect(await storeRows()).toBe(before);
  expect(site.server.logs()).not.toMatch(/TypeError|uncaught/i);
});

test('a form body cut off halfway (the client resets the connection) leaves the server running and the store unchanged', async () => {
  const before = await storeRows();
  for (const path of ['/api/auth/login', '/api/auth/signup', '/api/stripe/webhook']) {
    for (const framing of ['chunked', 'length'] as const) {
      const { socket } = await open();
      const headers: Record<string, string> = framing === 'chunked' ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': '10000' };
      socket.write(head(path, { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded', ...headers }));
      socket.write(framing === 'chunked' ? '20\r\nemail=victim%40example.com&passw' : 'email=victim%40example.com&passw');
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.resetAndDestroy();
      await new Promise((resolve) => setTimeout(resolve, 100));
      await expectAlive();
    }
  }
  expect(await storeRows()).toBe(before);
});

/** Resident memory of the server process, from the kernel. */
function rssBytes(): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${site.server.pid}/status`, 'utf8'));
  return Number(match![1]) * 1024;
}

test('a 200 MB chunked webhook body is refused after its first MB: the server stops reading and its memory stays flat', async () => {
  const before = await storeRows();
  const rss = rssBytes();
  const { socket, answer, closed } = await open();
  socket.write(head('/api/stripe/webhook', { 'Content-Type': 'application/json', 'Stripe-Signature': 't=1,v1=00', 'Transfer-Encoding': 'chunked' }));
  const sent = await sendChunked(socket, 200 * 1024 * 1024, closed);
  const refused = await refusal(answer, closed);
  socket.destroy();
  expect(['HTTP/1.1 413', 'closed']).toContain(refused);
  // The server hung up long before the attacker was done (socket buffers hold a few MB at most).
  expect(sent).toBeLessThan(32 * 1024 * 1024);
  expect(rssBytes() - rss).toBeLessThan(64 * 1024 * 1024);
  await expectAlive();
  expect(await storeRows()).toBe(before);
});

test('a body trickling in slowly holds one connection, not the server: others are answered meanwhile', async () => {
  const { socket } = await open();
  socket.write(head('/api/auth/login', { Origin: origin, 'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked' }));
  for (let n = 0; n < 6; n++) {
    socket.write('1\r\na\r\n');
    const started = performance.now();
    expect((await fetch(`${site.server.url}/healthz`)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(2000);
    await new Promise((resolve) => setTimeout(resolve, 400));
  }
  socket.destroy();
  await expectAlive();
});
