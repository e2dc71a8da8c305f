// The sizes of the load tests, from the environment: the defaults are the full run that the figures
// in docs/scaling.md come from; CI (.ci/run) sets smaller ones to stay within its time.
function count(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${name} must be a whole number (got ${value})`);
  return parsed;
}

export const LOAD = {
  /** Purchases in each storm. */
  purchases: count('LOAD_PURCHASES', 500),
  /** Server processes (WEB_CONCURRENCY) the storms and the soak run against. */
  workers: count('LOAD_WORKERS', 3),
  /** Length of the soak. */
  soakSeconds: count('LOAD_SOAK_SECONDS', 600),
  /** Length of the lesson load alone, the baseline of the readers test. */
  baselineSeconds: count('LOAD_BASELINE_SECONDS', 10),
};
