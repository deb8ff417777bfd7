import { ChunkCorruptError, isLxchunkError } from '@lxchunk/errors';
import type { ChunkReader, ChunkSource, ChunkWriter, FetchOptions, OnFetchedChunk } from './chunk-store.js';

/**
 * A source read through a local cache store (desync's cache store): a chunk the cache holds
 * intact is read from it; any other is fetched from `remote` and put into the cache before it is
 * handed over, so the cache's `put` verifies it against its id and keeps it for next time. A
 * corrupt cached copy counts as absent, and the fetched one replaces it.
 */
export class ReadThroughCache implements ChunkSource {
  constructor(
    private readonly remote: ChunkSource,
    private readonly cache: ChunkReader & ChunkWriter,
  ) {}

  async getChunk(id: string, options: FetchOptions = {}): Promise<Uint8Array> {
    const cached = await this.cached(id);
    if (cached) return cached;
    const bytes = await this.remote.getChunk(id, options);
    await this.keep(id, bytes);
    return bytes;
  }

  /** The chunks the cache holds intact come first, then the rest as the remote delivers them. */
  async fetchChunks(ids: readonly string[], onChunk: OnFetchedChunk, options: FetchOptions = {}): Promise<{ readonly missing: readonly string[] }> {
    const fetch: string[] = [];
    for (const id of new Set(ids)) {
      options.signal?.throwIfAborted();
      // `has` first: a cheap existence check spares a cold cache the failed reads.
      const cached = (await this.cache.has(id)) ? await this.cached(id) : undefined;
      if (cached) await onChunk(id, cached);
      else fetch.push(id);
    }
    if (fetch.length === 0) return { missing: [] };
    return this.remote.fetchChunks(
      fetch,
      async (id, bytes) => {
        await this.keep(id, bytes);
        await onChunk(id, bytes);
      },
      options,
    );
  }

  private async cached(id: string): Promise<Uint8Array | undefined> {
    try {
      return await this.cache.get(id);
    } catch (err) {
      if (isLxchunkError(err, 'CHUNK_NOT_FOUND') || isLxchunkError(err, 'CHUNK_CORRUPT')) return undefined;
      throw err;
    }
  }

  /** The cache's put verifies the bytes: ones that do not hash to their id are the remote's corrupt copy. */
  private async keep(id: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.cache.put(id, bytes);
    } catch (err) {
      if (isLxchunkError(err, 'HASH_MISMATCH')) throw new ChunkCorruptError(id, `the remote's copy does not hash to its id (${err.message})`, { cause: err });
      throw err;
    }
  }
}
