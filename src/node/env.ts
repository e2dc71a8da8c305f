// The settings as Node sees them: the process environment over an optional `.env` file in the
// working directory (a value exported in the shell wins over the file). Every Node entry point
// reads them here, before anything else: `npm start` and `npm run cf:dev` (whose steps inherit
// them), the build and the development server (astro.config.mjs), the server, the admin CLI,
// migrate, content:sync and reconcile.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Env } from '../server/config.ts';

/** Puts the `.env` file's settings into process.env, under those already set, and returns it. */
export function readNodeEnv(cwd = process.cwd()): Env {
  const file = resolve(cwd, '.env');
  if (existsSync(file)) process.loadEnvFile(file);
  return process.env;
}
