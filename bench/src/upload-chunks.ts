import { forEachBounded, type ChunkServerClient } from '@lxchunk/client';
import type { ImageChunk } from './random-image.js';

/**
 * A CI push of a whole new image, as the server bench measures it: every chunk with putChunk,
 * `concurrency` in flight; each must be new to the server. With `dropBytes`, a chunk's bytes are
 * let go once the server has them, keeping a big image from staying in memory. Returns the seconds.
 */
export async function uploadChunks(
  client: ChunkServerClient,
  chunks: readonly ImageChunk[],
  concurrency: number,
  options: { readonly dropBytes: boolean },
): Promise<number> {
  const started = performance.now();
  await forEachBounded(chunks, concurrency, async (chunk, _index, signal) => {
    const result = await client.putChunk(chunk.id, chunk.bytes!, { signal });
    if (!result.stored) throw new Error(`chunk ${chunk.id} was already stored: the store is not fresh`);
    if (options.dropBytes) chunk.bytes = undefined;
  });
  return (performance.now() - started) / 1000;
}
