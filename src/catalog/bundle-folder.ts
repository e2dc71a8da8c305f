// The private bundle as a folder on disk (dist/private/ after a build), read for the content sync.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readBundle, type Bundle } from '../server/content/bundle.ts';

export function readBundleFolder(dir: string): Promise<Bundle> {
  const root = resolve(dir);
  return readBundle(async (path) => {
    try {
      return await readFile(join(root, path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  });
}
