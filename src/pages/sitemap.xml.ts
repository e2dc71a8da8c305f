// Only public pages: the catalogue, course pages and free previews. Paid lessons are never listed.
import type { APIRoute } from 'astro';
import { getCatalog } from '../catalog/index.ts';
import { escapeXml } from '../catalog/xml.ts';

export const GET: APIRoute = async ({ site }) => {
  const { published } = await getCatalog();
  const paths = ['/', ...published.flatMap((c) => [c.url, ...c.lessons.filter((l) => l.preview).map((l) => l.url)])];
  const urls = paths.map((path) => `  <url><loc>${escapeXml(new URL(path, site).href)}</loc></url>`).join('\n');
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n${urls}\n</urlset>\n`;
  return new Response(body, { headers: { 'Content-Type': 'application/xml; charset=utf-8' } });
};
