// Images and files of the public pages, optimised at build time. Media of paid lessons are not
// listed here, so they never reach the public output.
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
