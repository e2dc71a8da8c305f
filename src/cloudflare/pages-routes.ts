// `_routes.json`: which requests invoke the Pages Function. Pages serves every other request from
// the static files without running (or billing) a function. At most 100 rules in all.
//
// Paid lessons share /courses/<course>/ with the static course pages and free lessons, so the
// whole of /courses/* is included and the static paths there are excluded one by one, as many as
// the limit leaves room for (course pages first: they are visited most). A static path that does
// not fit still works: the function hands it back to the static files (pages-function.ts).
export const MAX_RULES = 100;

export type PagesRoutes = { version: 1; description: string; include: string[]; exclude: string[] };

/**
 * `routes`: the function's exact paths, `prefixes` the ones it answers everything under (routes.ts). `staticCoursePages`: the built pages under
 * /courses/ as directories (`/courses/x/`, `/courses/x/free-lesson/`).
 */
export function pagesRoutes(routes: readonly string[], staticCoursePages: readonly string[], prefixes: readonly string[] = []): PagesRoutes {
  const include = new Set<string>();
  for (const prefix of prefixes) include.add(prefix).add(`${prefix}/*`);
  const grouped = new Map<string, number>();
  for (const path of routes) {
    const first = path.split('/')[1]!;
    if (path.split('/').length > 2) grouped.set(first, (grouped.get(first) ?? 0) + 1);
  }
  for (const path of routes) {
    const first = path.split('/')[1]!;
    // Pages refuses overlapping rules: `/account/*` already holds `/account/`.
    if (grouped.has(first)) include.add(path === `/${first}` ? path : `/${first}/*`);
    else {
      include.add(path);
      include.add(`${path}/`);
    }
  }
  include.add('/courses/*');

  const room = MAX_RULES - include.size;
  const depth = (path: string) => path.split('/').length;
  // Course pages (`/courses/x/`) before lessons; both the slash and the bare form of each.
  const ordered = [...staticCoursePages].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
  const exclude: string[] = [];
  for (const dir of ordered) {
    if (exclude.length + 2 > room) break;
    exclude.push(dir, dir.slice(0, -1));
  }
  return {
    version: 1,
    description: `Written by npm run cf:build: on-demand paths and paid lessons invoke the function; ${exclude.length / 2} of ${ordered.length} static course pages are excluded by name.`,
    include: [...include],
    exclude,
  };
}
