// What `npm start` and `npm run cf:dev` share: steps run one after another as child processes
// (each exactly as it would run by hand), long-running services that stop everything when one of
// them stops, and the local Stripe stand-in with a fresh webhook secret.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';

/** The project, wherever the command is run from (the working directory holds .env and data/). */
export const ROOT = resolve(import.meta.dirname, '..');

export function createSupervisor(env: NodeJS.ProcessEnv) {
  const children = new Set<ChildProcess>();
  let stopping = false;

  function stop(code = 0) {
    stopping = true;
    for (const child of children) child.kill('SIGTERM');
    process.exitCode = code;
  }
  process.on('SIGINT', () => stop());
  process.on('SIGTERM', () => stop());

  /** One step; rejects when it fails. Stopping everything stops it too. */
  function run(args: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: 'inherit', env });
      children.add(child);
      child.on('exit', (code, signal) => {
        children.delete(child);
        if (code === 0) resolve();
        else reject(new Error(`${args.join(' ')} exited with ${signal ?? code}`));
      });
    });
  }

  /** A service; when it stops by itself, everything stops. */
  function serve(args: string[], stdio: StdioOptions = 'inherit'): ChildProcess {
    const child = spawn(process.execPath, args, { stdio, env });
    children.add(child);
    child.on('exit', (code, signal) => {
      children.delete(child);
      if (!stopping) {
        console.error(`${args.join(' ')} stopped (${signal ?? code}); stopping everything`);
        stop(1);
      }
    });
    return child;
  }

  /**
   * Starts the Stripe stand-in (STANDIN_PORT, default 12111) sending webhooks to `webhookUrl`, and
   * returns the settings that point the site at it. Resolves once it listens, so that the first
   * checkout never meets a closed port. The secret is new each start: nobody else knows it.
   */
  async function startStripeStandin(webhookUrl: string) {
    const port = env.STANDIN_PORT ?? '12111';
    const url = `http://127.0.0.1:${port}`;
    const webhookSecret = `whsec_${randomBytes(24).toString('hex')}`;
    const standin = serve(
      [
        `${ROOT}/scripts/stripe-standin.ts`,
        '--port',
        port,
        '--webhook-url',
        webhookUrl,
        '--webhook-secret',
        webhookSecret,
        '--state',
        'data/stripe-standin.json',
      ],
      ['ignore', 'pipe', 'inherit'],
    );
    standin.stdout!.pipe(process.stdout);
    await new Promise<void>((resolve, reject) => {
      standin.stdout!.once('data', () => resolve());
      standin.once('exit', () => reject(new Error('the Stripe stand-in stopped before it listened')));
    });
    return { url, settings: { STRIPE_SECRET_KEY: 'sk_test_local_standin', STRIPE_API_BASE: url, STRIPE_WEBHOOK_SECRET: webhookSecret } };
  }

  return { run, serve, startStripeStandin, stop };
}
