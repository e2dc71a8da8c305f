// Loads one lesson with autocannon in a process of its own (so that the test's own work does not
// show in the latencies) until the parent sends 'stop', then sends back what it measured.
// Run with IPC: fork('tests/load/lesson-load.ts', [url, cookie, connections]).
type Instance = { stop(): void; on(event: 'done', listener: (result: any) => void): void };
// autocannon ships no types (as in scripts/bench.ts).
const specifier = 'autocannon';
const autocannon = ((await import(specifier)) as { default: (options: Record<string, unknown>) => Instance }).default;

const [url, cookie, connections = '16'] = process.argv.slice(2);
const instance = autocannon({ url: url!, headers: { cookie: cookie! }, connections: Number(connections), duration: 3600 });
process.on('message', (message) => {
  if (message === 'stop') instance.stop();
});
instance.on('done', (result: any) => {
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]: [string, any]) => [code, stat.count]));
  process.send!(
    {
      requests: result.requests.total,
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      statuses,
      errors: result.errors + result.timeouts,
    },
    () => process.exit(0),
  );
});
process.send!('started');

export {};
