// The programs the suite runs besides Node and its npm packages, and the Debian package of each
// (.ci/run installs them). `npm test` runs this file first (package.json's pretest) and stops at
// once, naming every one that is missing; a test that needs one asks requireTool(), so that a
// run of a single file says the same instead of failing on "spawn ENOENT".
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

type Tool = { name: string; command: string; debianPackage: string; usedBy: string };

const TOOLS: Tool[] = [
  {
    name: 'chromium',
    command: CHROMIUM,
    debianPackage: 'chromium',
    usedBy: 'the browser journeys (tests/browser/) and the CSP test (CHROMIUM_PATH for another binary)',
  },
  { name: 'caddy', command: 'caddy', debianPackage: 'caddy', usedBy: 'the deployment tests (tests/deploy.test.ts)' },
  { name: 'git', command: 'git', debianPackage: 'git', usedBy: 'the deploy.sh tests' },
  { name: 'flock', command: 'flock', debianPackage: 'util-linux', usedBy: 'deploy.sh' },
  { name: 'script', command: 'script', debianPackage: 'bsdutils', usedBy: 'the admin CLI at a terminal (tests/admin-cli.test.ts)' },
];

function locate(command: string): string | null {
  const candidates = isAbsolute(command)
    ? [command]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, command));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

function installHint(tools: Tool[]): string {
  return `apt-get install ${[...new Set(tools.map((tool) => tool.debianPackage))].join(' ')}`;
}

/** The tool's executable; throws, naming it and how to install it, when it is missing. */
export function requireTool(name: string): string {
  const tool = TOOLS.find((candidate) => candidate.name === name);
  if (!tool) throw new Error(`unknown tool ${name}`);
  const path = locate(tool.command);
  if (!path) throw new Error(`${tool.name} is not installed (${tool.command} not found), and ${tool.usedBy} need it: ${installHint([tool])}`);
  return path;
}

export function missingTools(): Tool[] {
  return TOOLS.filter((tool) => !locate(tool.command));
}

if (import.meta.main) {
  const missing = missingTools();
  if (missing.length) {
    console.error(`The test suite needs programs this machine does not have:`);
    for (const tool of missing) console.error(`  - ${tool.name} (${tool.command}): ${tool.usedBy}`);
    console.error(`Install them (Debian, as root): ${installHint(missing)}\nor run .ci/run, which installs them and runs the suite.`);
    process.exit(1);
  }
}
