import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sameParams, type ChunkMethod, type ChunkParams } from '@lxchunk/chunker';
import { isLxchunkError } from '@lxchunk/errors';
import { decodeIndex, encodeIndex, type ChunkIndex } from '@lxchunk/format';
import { writeFileAtomic } from '@lxchunk/store';
import { chunkSeedFile } from '@lxchunk/sync';

/**
 * Chunk indexes of the images LXD holds, kept on disk: an LXD image file never changes under its
 * fingerprint, so it is chunked once per way of cutting (params and method), not on every sync. The index only says
 * where chunks should be; every chunk read from the seed is still verified.
 */
export class SeedIndexes {
  constructor(private readonly dir: string) {}

  /** Undefined when the image cannot be cut that way (a VM disk cannot be cut as a squashfs). */
  async indexOf(
    fingerprint: string,
    rootfsPath: string,
    way: { params: ChunkParams; method: ChunkMethod },
    signal?: AbortSignal,
  ): Promise<ChunkIndex | undefined> {
    const { params, method } = way;
    const path = join(this.dir, `${fingerprint}-${method}-${params.min}-${params.avg}-${params.max}.lxci`);
    try {
      const cached = decodeIndex(await readFile(path));
      if (cached.method === method && sameParams(cached.params, params)) return cached;
    } catch (err) {
      // Absent, or damaged: either way it is rebuilt from the file.
      if (!isLxchunkError(err, 'MALFORMED_INDEX') && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const chunked = await chunkSeedFile(rootfsPath, { params, method, signal });
    if (!chunked) return undefined;
    const index: ChunkIndex = { size: chunked.size, sha256: chunked.sha256, params, method, chunks: chunked.chunks };
    await writeFileAtomic(path, encodeIndex(index));
    return index;
  }
}
