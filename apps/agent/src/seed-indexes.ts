import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chunkFile, type ChunkParams } from '@lxchunk/chunker';
import { isLxchunkError } from '@lxchunk/errors';
import { decodeIndex, encodeIndex, type ChunkIndex } from '@lxchunk/format';

/**
 * Chunk indexes of the images LXD holds, kept on disk: an LXD image file never changes under its
 * fingerprint, so it is chunked once per parameter set, not on every sync. The index only says
 * where chunks should be; every chunk read from the seed is still verified.
 */
export class SeedIndexes {
  constructor(private readonly dir: string) {}

  async indexOf(fingerprint: string, rootfsPath: string, params: ChunkParams, signal?: AbortSignal): Promise<ChunkIndex> {
    const path = join(this.dir, `${fingerprint}-${params.min}-${params.avg}-${params.max}.lxci`);
    try {
      return decodeIndex(await readFile(path));
    } catch (err) {
      // Absent, or damaged: either way it is rebuilt from the file.
      if (!isLxchunkError(err, 'MALFORMED_INDEX') && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const index = await chunkFile(rootfsPath, { params, signal });
    await mkdir(this.dir, { recursive: true });
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, encodeIndex(index));
    await rename(temp, path);
    return index;
  }
}
