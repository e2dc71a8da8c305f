// Images and files of the public pages, optimised at build time. Media that only paid lessons
// use are not listed here, so they never reach the public output: the build writes them into the
// private bundle, and the lesson gate serves them from the store at /courses/<course>/media/<name>.
import type { APIRoute, GetStaticPaths } from 'astro';
import { getCatalog, renderVariant } from '../../catalog/index.ts';

export const getStaticPaths = (async () => {
  const { media, publicMedia } = await getCatalog();
  return media.variants([...publicMedia].sort()).map((variant) => ({ params: { file: variant.file }, props: { variant } }));
}) satisfies GetStaticPaths;

export const GET: APIRoute = async ({ props }) => {
  const { variant } = props as Awaited<ReturnType<typeof getStaticPaths>>[number]['props'];
  return new Response(Buffer.from(await renderVariant(variant)), { headers: { 'Content-Type': variant.contentType } });
};
