// `npm run check [-- folder] [-- --strict]`: validates every course (front matter, links and their
// anchors, images) without a build. Fast enough for a pre-commit hook. Warnings (an image without
// alt text, an unknown code block attribute) are listed and pass; `--strict` makes them fail, for
// authors who want that in CI. `npm run check --strict` works too: npm hands the flag over as
// npm_config_strict.
import { CatalogError, countProblems, formatProblems, loadCatalog } from '../src/catalog/load.ts';
import { coursesDirOf } from '../src/server/config.ts';

const args = process.argv.slice(2);
const strict = args.includes('--strict') || process.env.npm_config_strict === 'true';
const dir = args.find((arg) => !arg.startsWith('--')) ?? coursesDirOf(process.env);
const started = performance.now();
try {
  const catalog = await loadCatalog(dir, { strict });
  const lessons = catalog.courses.reduce((n, c) => n + c.lessons.length, 0);
  const ms = Math.round(performance.now() - started);
  if (catalog.warnings.length) console.warn(`${countProblems(catalog.warnings)} in ${dir}:\n${formatProblems(catalog.warnings)}`);
  console.log(`✓ ${catalog.courses.length} courses (${catalog.published.length} published), ${lessons} lessons checked in ${ms} ms`);
} catch (error) {
  if (!(error instanceof CatalogError)) throw error;
  // The error's own message, which the development server shows in the browser too.
  const warnings = error.problems.some((p) => p.warning);
  console.error(`✗ ${error.message}${strict && warnings ? '\n(--strict: warnings fail too)' : ''}`);
  process.exitCode = 1;
}
