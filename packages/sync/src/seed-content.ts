import { open } from 'node:fs/promises';
import { ChunkScanner, type ChunkParams, type ScannedChunk } from '@lxchunk/chunker';
import { isLxchunkError } from '@lxchunk/errors';
import { imageXzBlocks } from '@lxchunk/xz';

/**
 * The content stream of a local xz squashfs (every block decompressed, in file order), written to
 * `streamPath` and cut with `params`, so its chunks can stand in for an image's content chunks.
 * Undefined for a file that is not an xz squashfs: such a seed has no content to offer.
 */
export async function seedContentStream(
  path: string,
  streamPath: string,
  params: ChunkParams,
  signal?: AbortSignal,
): Promise<{ chunks: readonly ScannedChunk[] } | undefined> {
  const scanner = new ChunkScanner({ params, ...(signal ? { signal } : {}) });
  const stream = await open(streamPath, 'w', 0o600);
  try {
    for await (const { content } of imageXzBlocks(path)) {
      await stream.write(content);
      await scanner.write(content);
    }
  } catch (err) {
    if (isLxchunkError(err, 'INVALID_INPUT')) return undefined;
    throw err;
  } finally {
    await stream.close();
  }
  return { chunks: (await scanner.finish()).chunks };
}
