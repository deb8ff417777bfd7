import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The chunk files in a server's data dir, by chunk id (an absent chunks/ dir holds none). */
export async function storedChunkPaths(dataDir: string): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  for (const fan of await readdir(join(dataDir, 'chunks')).catch(() => [])) {
    for (const name of await readdir(join(dataDir, 'chunks', fan))) paths.set(name.slice(0, 64), join(dataDir, 'chunks', fan, name));
  }
  return paths;
}
