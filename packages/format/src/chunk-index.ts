import { CHUNK_METHODS, isChunkId, validateParams, type ChunkMethod, type ChunkParams } from '@lxchunk/chunker';
import { MalformedIndexError } from '@lxchunk/errors';
import { brief, kind } from './describe-value.js';

/** One chunk of a file, in file order. */
export interface IndexEntry {
  /** BLAKE3-256 of the chunk's bytes, 64 lowercase hex. */
  readonly id: string;
  readonly length: number;
}

/** How one file is cut into chunks: enough to rebuild it byte for byte and to check the result. */
export interface ChunkIndex {
  readonly size: number;
  /** sha256 of the whole file, 64 lowercase hex: the end-to-end check after reassembly. */
  readonly sha256: string;
  /** Recorded because a seed only shares chunks with files cut with the same parameters. */
  readonly params: ChunkParams;
  /** How the cuts were placed; a seed must be cut the same way to share chunks. */
  readonly method: ChunkMethod;
  readonly chunks: readonly IndexEntry[];
}

export interface IndexStats {
  readonly count: number;
  readonly minLength: number;
  /** Mean chunk length (size / count), not rounded; 0 for an empty file. */
  readonly avgLength: number;
  readonly maxLength: number;
  /** Distinct chunk ids: a file often repeats chunks (zeroed blocks, duplicated files). */
  readonly uniqueChunks: number;
  /** Bytes of the distinct chunks: what storing or fetching this file costs at most. */
  readonly uniqueBytes: number;
}

/**
 * Checks every rule an index must satisfy and returns a frozen copy, so a caller keeps a value
 * nobody can change after it was checked. Throws MalformedIndexError naming the first problem.
 * Typed as ChunkIndex but checks shapes too: values also come from plain JavaScript and JSON.
 */
export function validateIndex(index: ChunkIndex): ChunkIndex {
  if (typeof index !== 'object' || index === null) throw new MalformedIndexError(`expected an object, got ${kind(index)}`);
  const { size, sha256, params, method, chunks } = index;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new MalformedIndexError(`file size must be a non-negative safe integer, got ${brief(size)}`);
  }
  if (!isChunkId(sha256)) throw new MalformedIndexError(`file sha256 must be 64 lowercase hex characters, got ${brief(sha256)}`);
  let checkedParams: ChunkParams;
  try {
    if (typeof params !== 'object' || params === null) throw new TypeError(`expected an object, got ${kind(params)}`);
    checkedParams = validateParams(params);
  } catch (cause) {
    throw new MalformedIndexError(`invalid chunker params: ${(cause as Error).message}`, { cause });
  }
  if (!CHUNK_METHODS.includes(method)) {
    throw new MalformedIndexError(`chunk method must be one of ${CHUNK_METHODS.join(', ')}, got ${brief(method)}`);
  }
  if (!Array.isArray(chunks)) throw new MalformedIndexError(`chunks must be an array, got ${kind(chunks)}`);

  const out: IndexEntry[] = new Array<IndexEntry>(chunks.length);
  // Same id means same bytes, so it must mean the same length; a disagreement is a corrupt index.
  const lengthOf = new Map<string, number>();
  let sum = 0;
  for (let i = 0; i < chunks.length; i++) {
    const entry: unknown = chunks[i];
    if (typeof entry !== 'object' || entry === null) throw new MalformedIndexError(`chunk ${i}: expected an object, got ${kind(entry)}`);
    const { id, length } = entry as Partial<IndexEntry>;
    if (!isChunkId(id)) throw new MalformedIndexError(`chunk ${i}: id must be 64 lowercase hex characters, got ${brief(id)}`);
    if (!Number.isInteger(length) || (length as number) < 1 || (length as number) > checkedParams.max) {
      throw new MalformedIndexError(`chunk ${i}: length must be an integer from 1 to ${checkedParams.max} (params.max), got ${brief(length)}`);
    }
    const len = length as number;
    const seen = lengthOf.get(id);
    if (seen === undefined) lengthOf.set(id, len);
    else if (seen !== len) throw new MalformedIndexError(`chunk ${i}: id ${id} appears with lengths ${seen} and ${len}`);
    sum += len;
    out[i] = Object.freeze({ id, length: len });
  }
  if (sum !== size) {
    throw new MalformedIndexError(`chunk lengths add up to ${sum} bytes but the file size is ${size}`);
  }
  return Object.freeze({ size, sha256, params: checkedParams, method, chunks: Object.freeze(out) });
}

/**
 * The byte offset in the file where each chunk starts (same order as `chunks`). Float64 because
 * files pass 4 GiB and every safe integer is exact in a double.
 */
export function chunkOffsets(index: ChunkIndex): Float64Array {
  const offsets = new Float64Array(index.chunks.length);
  let offset = 0;
  for (let i = 0; i < index.chunks.length; i++) {
    offsets[i] = offset;
    offset += index.chunks[i]!.length;
  }
  return offsets;
}

export function indexStats(index: ChunkIndex): IndexStats {
  const count = index.chunks.length;
  let minLength = count === 0 ? 0 : Infinity;
  let maxLength = 0;
  let total = 0;
  let uniqueBytes = 0;
  const seen = new Set<string>();
  for (const { id, length } of index.chunks) {
    if (length < minLength) minLength = length;
    if (length > maxLength) maxLength = length;
    total += length;
    if (!seen.has(id)) {
      seen.add(id);
      uniqueBytes += length;
    }
  }
  return { count, minLength, avgLength: count === 0 ? 0 : total / count, maxLength, uniqueChunks: seen.size, uniqueBytes };
}
