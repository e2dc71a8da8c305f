// What a fresh clone meets before any test: `npm install`, which must leave the committed lock
// file as it is, and `npm test`, which on a machine without the programs the suite runs stops at
// once and names each one with the Debian package to install.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './support/build.ts';

type LockEntry = { version?: string; optionalDependencies?: Record<string, string> };

it('the lock file lists every optional package of every platform, as npm writes it on a clean install', () => {
  // npm drops other platforms' optional packages from the lock when it installs over an existing
  // node_modules (npm/cli#4828); a clean install on any machine then writes them back, and the
  // clone is no longer clean. Found here instead of in each newcomer's `git status`.
  const { packages } = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const missing: string[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    for (const name of Object.keys(entry.optionalDependencies ?? {})) {
      // Node's lookup: the package's own node_modules, then each enclosing one, up to the root.
      let base = path;
      for (;;) {
        if (packages[`${base ? `${base}/` : ''}node_modules/${name}`]) break;
        if (!base) {
          missing.push(`${path || 'package.json'} -> ${name}`);
          break;
        }
        const up = base.lastIndexOf('/node_modules/');
        base = up < 0 ? '' : base.slice(0, up);
      }
    }
  }
  expect(missing, 'optional packages missing from package-lock.json: delete node_modules and package-lock.json, then npm install').toEqual([]);
});

it('the pretest check names every missing program and how to install it, and passes where all are present', () => {
  const script = join(ROOT, 'tests/support/tools.ts');
  const bare = spawnSync(process.execPath, [script], { env: { PATH: '', CHROMIUM_PATH: join(ROOT, 'no-such-chromium') }, encoding: 'utf8' });
  expect(bare.status).toBe(1);
  for (const tool of ['chromium', 'caddy', 'git', 'flock', 'script']) expect(bare.stderr).toContain(`  - ${tool} (`);
  expect(bare.stderr).toContain('Install them (Debian, as root): apt-get install chromium caddy git util-linux bsdutils');

  const here = spawnSync(process.execPath, [script], { env: process.env, encoding: 'utf8' });
  expect(here.stderr).toBe('');
  expect(here.status).toBe(0);
});
