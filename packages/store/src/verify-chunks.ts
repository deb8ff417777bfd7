import { setImmediate as nextTurn } from 'node:timers/promises';
import { isLxchunkError } from '@lxchunk/errors';
import type { VerifyProblem, VerifyProgress, VerifyReport } from '@lxchunk/format';
import type { ChunkPruner, ChunkQuarantine, ChunkReader } from './chunk-store.js';

// The report is what `POST /v1/admin/verify` streams: its shape is the wire contract's.
export type { VerifyProblem, VerifyProgress, VerifyReport };

/** How many problems a report lists by id; the counts are always complete. */
export const MAX_LISTED_PROBLEMS = 1000;

export interface VerifyOptions {
  /** Quarantine every corrupt chunk found. */
  readonly repair: boolean;
  readonly signal?: AbortSignal;
  /** Called after every chunk. */
  readonly onProgress?: (progress: VerifyProgress) => void;
}

/**
 * Reads every stored chunk and verifies it against its id; with `repair`, quarantines the corrupt
 * ones. Yields to the event loop after each chunk, so a server running it keeps answering.
 */
export async function verifyChunks(store: ChunkReader & ChunkPruner & ChunkQuarantine, options: VerifyOptions): Promise<VerifyReport> {
  const { repair, signal, onProgress } = options;
  // Counted first so progress has a total; a second listing is cheap next to reading every chunk.
  let total = 0;
  for await (const _ of store.list()) total++;
  const counts = { chunks: 0, ok: 0, corrupt: 0, unreadable: 0, quarantined: 0, okBytes: 0, corruptBytes: 0 };
  const problems: VerifyProblem[] = [];
  const note = (problem: VerifyProblem) => {
    if (problems.length < MAX_LISTED_PROBLEMS) problems.push(problem);
  };
  for await (const id of store.list()) {
    signal?.throwIfAborted();
    try {
      counts.okBytes += (await store.get(id)).length;
      counts.ok++;
    } catch (err) {
      if (isLxchunkError(err, 'CHUNK_NOT_FOUND')) continue; // deleted since it was listed
      if (isLxchunkError(err, 'IO_ERROR')) {
        counts.unreadable++;
        note({ id, kind: 'unreadable', code: err.code, message: err.message, quarantined: false });
      } else if (isLxchunkError(err, 'CHUNK_CORRUPT')) {
        counts.corrupt++;
        const moved = repair ? await store.quarantine(id) : undefined;
        if (moved?.quarantined) counts.quarantined++;
        counts.corruptBytes += moved?.quarantined ? moved.storedSize : await storedSizeOf(store, id);
        note({ id, kind: 'corrupt', code: err.code, message: err.message, quarantined: Boolean(moved?.quarantined) });
      } else {
        throw err;
      }
    }
    counts.chunks++;
    onProgress?.({ done: counts.chunks, total: Math.max(total, counts.chunks) });
    await nextTurn();
  }
  return { repair, ...counts, problems };
}

/** A corrupt zstd header makes `stat` throw too: its size is then unknown, counted as 0. */
async function storedSizeOf(store: ChunkReader, id: string): Promise<number> {
  try {
    return (await store.stat(id))?.storedSize ?? 0;
  } catch (err) {
    if (isLxchunkError(err, 'CHUNK_CORRUPT')) return 0;
    throw err;
  }
}
