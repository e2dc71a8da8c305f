// `npm test` on a machine without the programs the suite runs stops at once and names each one with
// the Debian package to install, instead of letting the browser and deployment tests fail later.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './support/build.ts';

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
