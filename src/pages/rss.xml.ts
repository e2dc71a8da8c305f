// A feed of the courses, so blog readers can follow new ones. It carries the course descriptions
// only: no lesson text, free or paid.
import type { APIRoute } from 'astro';
import { getCatalog, lessonCount } from '../catalog/index.ts';
import { escapeXml } from '../catalog/xml.ts';
import { messagesFor } from '../server/i18n/index.ts';
import { formatMinor } from '../server/money.ts';

export const GET: APIRoute = async ({ site }) => {
  const { site: settings, published } = await getCatalog();
  const items = published.map((course) => {
    const url = new URL(course.url, site).href;
    const summary = `${course.description} (${lessonCount(messagesFor(settings.locale), course.lessons.length)}, ${formatMinor(course.priceMinor, course.currency, settings.locale)})`;
    return [
      '    <item>',
      `      <title>${escapeXml(course.title)}</title>`,
      `      <link>${escapeXml(url)}</link>`,
      `      <guid isPermaLink="true">${escapeXml(url)}</guid>`,
      `      <description>${escapeXml(summary)}</description>`,
      ...course.tags.map((tag) => `      <category>${escapeXml(tag)}</category>`),
      '    </item>',
    ].join('\n');
  });
  const body = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">',
    '  <channel>',
    `    <title>${escapeXml(settings.name)}</title>`,
    `    <link>${escapeXml(new URL('/', site).href)}</link>`,
    `    <description>${escapeXml(settings.description)}</description>`,
    `    <language>${escapeXml(settings.locale)}</language>`,
    `    <atom:link href="${escapeXml(new URL('/rss.xml', site).href)}" rel="self" type="application/rss+xml"/>`,
    ...items,
    '  </channel>',
    '</rss>',
    '',
  ].join('\n');
  return new Response(body, { headers: { 'Content-Type': 'application/rss+xml; charset=utf-8' } });
};
