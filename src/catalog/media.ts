// Images and files that courses reference. Each source file is named by a hash of its bytes, so
// the published names are stable across builds, cache forever, and reveal nothing about the
// lesson they belong to.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import sharp from 'sharp';

const RASTER = new Set(['.png', '.jpg', '.jpeg', '.webp', '.avif']);
const AS_IS = new Map([
  ['.svg', 'image/svg+xml'],
  ['.gif', 'image/gif'],
]);
export const IMAGE_EXTENSIONS = [...RASTER, ...AS_IS.keys()];

/** Widths for responsive images: the lesson column is ~720 CSS px, so these cover 1x and 2x. */
const WIDTHS = [640, 1280];

export type Variant = {
  /** The published file name under /media/. */
  file: string;
  source: string;
  contentType: string;
  encode: { format: 'avif' | 'webp' | 'jpeg'; width: number; height?: number } | null;
};

export type Picture = {
  width: number;
  height: number;
  /** Fallback src for <img>; also the largest webp. */
  src: string;
  webp: { src: string; width: number }[];
  avif: { src: string; width: number }[];
  /** 1200x630 JPEG for Open Graph cards, only made for covers. */
  og?: string;
};

export type Download = { src: string; name: string };

export class MediaRegistry {
  #variants = new Map<string, Variant>();
  #pictures = new Map<string, Promise<Picture>>();
  #hashes = new Map<string, Promise<string>>();

  static isImage(path: string): boolean {
    return IMAGE_EXTENSIONS.includes(extname(path).toLowerCase());
  }

  variants(files: Iterable<string>): Variant[] {
    return [...files].map((file) => {
      const variant = this.#variants.get(file);
      if (!variant) throw new Error(`no media variant ${file}`);
      return variant;
    });
  }

  #hash(source: string): Promise<string> {
    let hash = this.#hashes.get(source);
    if (!hash) {
      hash = readFile(source).then((bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 16));
      this.#hashes.set(source, hash);
    }
    return hash;
  }

  /** Measures an image and declares its variants. Rejects when the file is not a readable image. */
  picture(source: string, { og = false, widths = WIDTHS } = {}): Promise<Picture> {
    const key = `${source}|${og}|${widths}`;
    let picture = this.#pictures.get(key);
    if (!picture) {
      picture = this.#describe(source, og, widths);
      this.#pictures.set(key, picture);
    }
    return picture;
  }

  /** `widths`: the variants to make (never wider than the image); an author's photo needs small ones. */
  async #describe(source: string, og: boolean, wanted: readonly number[]): Promise<Picture> {
    const [hash, meta] = await Promise.all([this.#hash(source), sharp(source).metadata()]);
    const ext = extname(source).toLowerCase();
    if (!meta.width || !meta.height) throw new Error('the image has no width or height');
    const { width, height } = meta;
    const asIs = AS_IS.get(ext);
    if (asIs) {
      const file = `${hash}${ext}`;
      this.#variants.set(file, { file, source, contentType: asIs, encode: null });
      return { width, height, src: `/media/${file}`, webp: [], avif: [] };
    }
    const widths = [...new Set(wanted.map((w) => Math.min(w, width)))];
    const declare = (format: 'avif' | 'webp', w: number) => {
      const file = `${hash}-${w}.${format}`;
      this.#variants.set(file, { file, source, contentType: `image/${format}`, encode: { format, width: w } });
      return { src: `/media/${file}`, width: w };
    };
    const webp = widths.map((w) => declare('webp', w));
    const avif = widths.map((w) => declare('avif', w));
    const picture: Picture = { width, height, src: webp.at(-1)!.src, webp, avif };
    if (og) {
      const file = `${hash}-og.jpg`;
      this.#variants.set(file, { file, source, contentType: 'image/jpeg', encode: { format: 'jpeg', width: 1200, height: 630 } });
      picture.og = `/media/${file}`;
    }
    return picture;
  }

  async download(source: string): Promise<Download> {
    const hash = await this.#hash(source);
    const name = basename(source);
    const file = `${hash}-${name.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    this.#variants.set(file, { file, source, contentType: contentTypeOf(name), encode: null });
    return { src: `/media/${file}`, name };
  }
}

export async function renderVariant(variant: Variant): Promise<Uint8Array> {
  if (!variant.encode) return readFile(variant.source);
  const { format, width, height } = variant.encode;
  const image = sharp(variant.source).resize({ width, height, fit: 'cover', withoutEnlargement: !height });
  const out =
    format === 'avif'
      ? image.avif({ quality: 55, effort: 2 })
      : format === 'webp'
        ? image.webp({ quality: 80 })
        : image.flatten({ background: '#ffffff' }).jpeg({ quality: 82, mozjpeg: true });
  return out.toBuffer();
}

function contentTypeOf(name: string): string {
  const types: Record<string, string> = {
    '.pdf': 'application/pdf',
    '.zip': 'application/zip',
    '.csv': 'text/csv; charset=utf-8',
    '.txt': 'text/plain; charset=utf-8',
    '.py': 'text/x-python; charset=utf-8',
    '.json': 'application/json',
  };
  return types[extname(name).toLowerCase()] ?? 'application/octet-stream';
}
