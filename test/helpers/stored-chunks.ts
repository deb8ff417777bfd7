import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The chunk files in a server's data dir, by chunk id (an absent chunks/ dir holds none). */
export async function storedChunkPaths(dataDir: string): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  for (const fan of await readdir(join(dataDir, 'chunks')).catch(() => [])) {
    for (const name of await readdir(join(dataDir, 'chunks', fan))) paths.set(name.slice(0, 64), join(dataDir, 'chunks', fan, name));
  }
  return paths;
}

/** Flips one byte in the middle of a stored chunk file, as a failing disk would; returns the damaged bytes. */
export async function flipStoredByte(path: string): Promise<Buffer> {
  const bytes = await readFile(path);
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x55;
  await writeFile(path, bytes);
  return bytes;
}

/** The files in a data dir's quarantine/ (none when it does not exist). */
export async function quarantinedFiles(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'quarantine')).catch(() => [] as string[])).sort();
}
