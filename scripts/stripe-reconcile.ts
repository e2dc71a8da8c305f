// `npm run stripe:reconcile -- [--since 2026-11-01]`: records paid Checkout Sessions the store is
// missing and applies missed refunds and disputes. Prints what it changed; exit code 0 when it
// finished (changes or not), 1 when it could not. Safe from cron at any time.
import { parseArgs } from 'node:util';
import { createNodeAppContext } from '../src/node/app-context.ts';
import { reconcile } from '../src/server/payments/reconcile.ts';

const DEFAULT_DAYS = 30;

const { values } = parseArgs({ options: { since: { type: 'string' } } });
const since = values.since ? Date.parse(values.since) : Date.now() - DEFAULT_DAYS * 86_400_000;
if (Number.isNaN(since)) {
  console.error(`--since must be a date such as 2026-11-01 (got ${values.since})`);
  process.exit(2);
}

const context = await createNodeAppContext(undefined, { tool: true });
const pending: Promise<unknown>[] = [];
try {
  const report = await reconcile(context.app, { waitUntil: (task) => void pending.push(task) }, since);
  console.log(`Checked ${report.sessionsSeen} paid Checkout Session(s) of this site since ${new Date(since).toISOString().slice(0, 10)}.`);
  for (const item of report.fulfilled) console.log(`  recorded purchase ${item.purchaseId}: ${item.course} (${item.session})`);
  for (const change of report.changed) {
    console.log(
      `  purchase ${change.purchaseId} (${change.courseSlug}): ${change.status}${change.actions.length ? `, access ${change.actions.join(' then ')}` : ''}`,
    );
  }
  for (const session of report.processing) console.log(`  still processing: ${session}`);
  if (report.fulfilled.length === 0 && report.changed.length === 0) console.log('Nothing to change: the store agrees with Stripe.');
  await Promise.allSettled(pending);
} catch (error) {
  console.error(`Reconcile failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  context.close();
}
