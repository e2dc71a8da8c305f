// A course's own stylesheet (courses/<slug>/course.css), for the figures of an imported book. A
// file, not an inline <style>, because the site's Content-Security-Policy allows styles from
// 'self' only. Checked for size by the catalogue (src/catalog/load.ts).
import type { APIRoute } from 'astro';
import { getCatalog, type Course } from '../../../catalog/index.ts';

export async function getStaticPaths() {
  const { published } = await getCatalog();
  return published.filter((course) => course.css !== null).map((course) => ({ params: { course: course.slug }, props: { course } }));
}

export const GET: APIRoute = ({ props }) => new Response((props as { course: Course }).course.css, { headers: { 'content-type': 'text/css; charset=utf-8' } });
