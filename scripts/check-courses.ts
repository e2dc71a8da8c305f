// `npm run check [-- folder]`: validates every course (front matter, links, images) without a
// build. Fast enough for a pre-commit hook.
import { CatalogError, loadCatalog } from '../src/catalog/load.ts';

const dir = process.argv[2] ?? process.env.COURSES_DIR ?? 'courses';
const started = performance.now();
try {
  const catalog = await loadCatalog(dir);
  const lessons = catalog.courses.reduce((n, c) => n + c.lessons.length, 0);
  const ms = Math.round(performance.now() - started);
  console.log(`✓ ${catalog.courses.length} courses (${catalog.published.length} published), ${lessons} lessons checked in ${ms} ms`);
} catch (error) {
  if (!(error instanceof CatalogError)) throw error;
  console.error(`✗ ${error.message}`);
  process.exitCode = 1;
}
