import { ID_BYTES, type ScannedChunk } from '@lxchunk/chunker';

/** One entry of a chunk index: the chunk id and its length as a 32-bit integer. */
export const INDEX_ENTRY_BYTES = ID_BYTES + 4;

/** What a host that holds one image must download to assemble another. */
export interface TransferCost {
  readonly newSize: number;
  /** Entries in the new image's index, repeats included. */
  readonly newChunks: number;
  readonly distinctNewChunks: number;
  /** Distinct chunks of the new image the host lacks: the entries of its fetch requests. */
  readonly fetchedChunks: number;
  readonly fetchedChunkBytes: number;
  /** The new image's whole index, which the host must fetch before it knows what it lacks. */
  readonly indexBytes: number;
  readonly totalBytes: number;
}

/**
 * Bytes to fetch: each distinct chunk of `want` whose id is not in `have`, counted once (a chunk
 * repeated inside the new image is fetched once and copied), plus the new image's index. Raw chunk
 * bytes: chunks of an xz squashfs barely compress (FACTS.md), so compression would not change this.
 */
export function transferCost(have: readonly ScannedChunk[], want: readonly ScannedChunk[]): TransferCost {
  const held = new Set(have.map((chunk) => chunk.id));
  const seen = new Set<string>();
  let newSize = 0;
  let fetchedChunks = 0;
  let fetchedChunkBytes = 0;
  for (const chunk of want) {
    newSize += chunk.length;
    if (seen.has(chunk.id)) continue;
    seen.add(chunk.id);
    if (held.has(chunk.id)) continue;
    fetchedChunks += 1;
    fetchedChunkBytes += chunk.length;
  }
  const indexBytes = want.length * INDEX_ENTRY_BYTES;
  return {
    newSize,
    newChunks: want.length,
    distinctNewChunks: seen.size,
    fetchedChunks,
    fetchedChunkBytes,
    indexBytes,
    totalBytes: fetchedChunkBytes + indexBytes,
  };
}
