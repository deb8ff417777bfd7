/**
 * Chunk store capabilities, split so that a component asks only for what it uses: the agent's seed
 * lookup needs a reader, CI push needs a writer, only GC needs a pruner, only a verifier quarantines.
 *
 * Every method validates the id (64 lowercase hex, else InvalidIdError / INVALID_ID) before it
 * touches anything, so an id can never be used as a path trick.
 */

import type { ChunkEncoding, DeltaBaseSource } from '@lxchunk/format';

// Kept importable from here: the encoding is the wire codec's, stores only hold it.
export type { ChunkEncoding };

export interface ChunkStat {
  readonly id: string;
  /** Uncompressed size: the length `get` returns. */
  readonly size: number;
  /** Bytes the store holds for the chunk (equals `size` for identity). */
  readonly storedSize: number;
  readonly encoding: ChunkEncoding;
}

export interface ChunkReader {
  /** Whether the store holds the chunk. May be existence-only (no verification): `get` verifies. */
  has(id: string): Promise<boolean>;
  /**
   * The chunk's uncompressed bytes, verified against the id. Throws ChunkNotFoundError when absent
   * and ChunkCorruptError when the stored bytes do not decode to the id: never returns bad bytes.
   */
  get(id: string): Promise<Uint8Array>;
  /** Sizes and encoding, or undefined when absent. Does not verify the content. */
  stat(id: string): Promise<ChunkStat | undefined>;
}

export interface PutResult {
  /** False when a valid copy was already there (nothing written). */
  readonly stored: boolean;
  readonly storedSize: number;
  readonly encoding: ChunkEncoding;
}

export interface ChunkWriter {
  /**
   * Stores `bytes` under `id` after checking BLAKE3(bytes) === id (HashMismatchError otherwise,
   * nothing stored). Idempotent; a corrupt existing copy is quarantined and replaced.
   */
  put(id: string, bytes: Uint8Array): Promise<PutResult>;
}

export interface ChunkPruner {
  /** Removes the chunk; false when it was not there. */
  delete(id: string): Promise<boolean>;
  /** Every stored chunk id, once each, in no promised order. */
  list(): AsyncIterable<string>;
}

/** A chunk moved aside because its stored bytes failed verification; the bytes are kept for forensics. */
export interface QuarantinedChunk {
  readonly id: string;
  readonly encoding: ChunkEncoding;
  /** Bytes of the damaged stored copy. */
  readonly storedSize: number;
  /** When it was moved aside, in ms since the epoch. */
  readonly at: number;
}

export interface QuarantineResult {
  /** False when nothing was moved: the chunk is absent, or every stored copy verifies. */
  readonly quarantined: boolean;
  /** Stored bytes moved aside (0 when nothing was). */
  readonly storedSize: number;
}

export interface ChunkQuarantine {
  /**
   * Verifies the stored copies of `id` and moves aside every one that fails (keeping its bytes),
   * so that from then on `has` is false and the next push uploads the chunk again instead of
   * being told it is present. An intact copy is never moved: a stale report of corruption (the
   * chunk was repaired meanwhile) cannot remove a good chunk. `put` does the same with a corrupt
   * copy it replaces.
   */
  quarantine(id: string): Promise<QuarantineResult>;
  /** Every quarantined copy still held, in no promised order. */
  listQuarantined(): AsyncIterable<QuarantinedChunk>;
}

export type ChunkStore = ChunkReader & ChunkWriter & ChunkPruner & ChunkQuarantine;

/**
 * A chunk's stored bytes as they are (zstd or identity), read synchronously and unverified: a
 * server sends them as they are to a client that accepts the encoding, after verifying them.
 */
export interface StoredChunkSource {
  readStored(id: string): Promise<StoredChunk | undefined>;
}

export interface StoredChunk {
  readonly encoding: ChunkEncoding;
  readonly stored: Uint8Array;
}

/**
 * A store that can hand a reader a short-lived URL to fetch a chunk's stored bytes directly (an
 * object store's presigned GET), so the bytes need not pass through the server. The URL's response
 * carries `Content-Encoding: zstd` when the chunk is stored compressed.
 */
export interface ChunkUrlSigner {
  signedUrl(id: string, expiresInSeconds: number): Promise<{ readonly url: string; readonly encoding: ChunkEncoding } | undefined>;
}

/** What a fetch of chunks from a source can be told: to stop, and which chunks it may send as deltas against what. */
export interface FetchOptions {
  readonly signal?: AbortSignal;
  readonly deltaBases?: DeltaBaseSource;
}

/** Called with each chunk a source delivers; awaited before the source goes on. `bytes` belong to the callee. */
export type OnFetchedChunk = (id: string, bytes: Uint8Array) => void | Promise<void>;

/**
 * Chunks from elsewhere, one at a time or many in one go: a chunk server's client is one (its
 * batched fetch is what makes a pull fast). Every chunk is verified against its id before it is
 * handed over, as a store's `get` does.
 */
export interface ChunkSource {
  /** The chunk's bytes; ChunkNotFoundError when the source lacks it. */
  getChunk(id: string, options?: FetchOptions): Promise<Uint8Array>;
  /** Delivers each of `ids` the source holds once, and reports the others as missing. */
  fetchChunks(ids: readonly string[], onChunk: OnFetchedChunk, options?: FetchOptions): Promise<{ readonly missing: readonly string[] }>;
}
