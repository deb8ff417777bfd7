import { createHash } from 'node:crypto';
import { HashMismatchError, SizeMismatchError } from '@lxchunk/errors';
import type { ChunkIndex } from '@lxchunk/format';
import type { ChunkReader } from '@lxchunk/store';

/** Chunks read ahead of the one being sent: enough to hide a store's round trip (an S3 GET). */
const READ_AHEAD = 8;

/**
 * One image file's bytes, in order, rebuilt from its chunks: each chunk verified by its id as the
 * store reads it, and the whole by the index's size and sha256 once the last chunk is out. A
 * mismatch throws before the last chunk is yielded: a caller streaming them must cut the response
 * short, so the client sees a truncated body rather than a complete wrong file.
 */
export async function* imageFileBytes(store: ChunkReader, index: ChunkIndex, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let size = 0;
  const reads: Array<Promise<Uint8Array>> = [];
  let next = 0;
  const fill = () => {
    while (next < index.chunks.length && reads.length < READ_AHEAD) {
      const read = store.get(index.chunks[next++]!.id);
      // Awaited in order below; a failure ahead must not surface as an unhandled rejection meanwhile.
      read.catch(() => undefined);
      reads.push(read);
    }
  };
  fill();
  while (reads.length > 0) {
    signal?.throwIfAborted();
    const bytes = await reads.shift()!;
    fill();
    hash.update(bytes);
    size += bytes.length;
    // The whole is checked before its last bytes go out, so a wrong file is never sent complete.
    if (reads.length === 0) {
      if (size !== index.size) throw new SizeMismatchError(`image file ${index.sha256}`, index.size, size);
      const actual = hash.digest('hex');
      if (actual !== index.sha256) throw new HashMismatchError('image file', index.sha256, actual);
    }
    yield bytes;
  }
}
