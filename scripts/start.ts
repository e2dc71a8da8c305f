// `npm start`: builds the site and serves it on http://localhost:4321 with everything a demo needs,
// on an embedded local store, with no account or key. Each step is a child process so that it
// runs exactly as it would by hand.
import { spawn, type ChildProcess } from 'node:child_process';

const env = { ...process.env, ASTRO_TELEMETRY_DISABLED: '1', HOST: process.env.HOST ?? 'localhost', PORT: process.env.PORT ?? '4321' };
const children = new Set<ChildProcess>();

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

function serve(command: string, args: string[]): ChildProcess {
  const child = spawn(command, args, { stdio: 'inherit', env });
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!stopping) {
      console.error(`${command} ${args.join(' ')} stopped (${signal ?? code}); stopping everything`);
      stop(1);
    }
  });
  return child;
}

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const child of children) child.kill('SIGTERM');
  process.exitCode = code;
}
process.on('SIGINT', () => stop());
process.on('SIGTERM', () => stop());

if (!process.argv.includes('--no-build')) await run(process.execPath, ['node_modules/astro/bin/astro.mjs', 'build']);
// The store is created and brought up to date before the server, which refuses an unmigrated one.
await run(process.execPath, ['scripts/migrate.ts']);
// The paid lessons of the build go into the store, from which the lesson gate serves them.
await run(process.execPath, ['scripts/content-sync.ts']);
serve(process.execPath, ['src/node/server.ts']);
console.log(`\n  Course site: http://${env.HOST}:${env.PORT}/\n`);
