import { PARAM_LIMITS, assertHex64, chunkId } from '@lxchunk/chunker';
import { ChunkCorruptError, HashMismatchError, InvalidInputError } from '@lxchunk/errors';
import { Compressor } from 'zstd-napi';
import { inflateZstdFrame, zstdFrameContentSize } from './zstd-frame.js';

/**
 * Largest chunk a store accepts: the chunker never cuts bigger ones. The bound also lets a reader
 * refuse a (corrupt or hostile) zstd header that announces gigabytes before allocating them.
 */
export const MAX_CHUNK_SIZE: number = PARAM_LIMITS.max.high;

/**
 * Keep the zstd form only when it is at most 97% of the raw size. Already-compressed squashfs
 * blocks shrink ~0.3%: storing those raw saves a decompression on every read for nothing.
 */
export const ZSTD_MAX_RATIO_PERCENT = 97;

export const DEFAULT_COMPRESSION_LEVEL = 3;

/** How a chunk's bytes are held and sent: zstd-compressed, or as-is when compression would not pay. */
export type ChunkEncoding = 'zstd' | 'identity';

export interface EncodedChunk {
  readonly encoding: ChunkEncoding;
  /** The bytes to store or send; `bytes` itself for identity (not a copy). */
  readonly stored: Uint8Array;
}

/** Rejects a wrong id, a non-byte value, an oversized chunk, or bytes whose BLAKE3 is not `id`. */
export function verifyChunkBytes(id: string, bytes: Uint8Array): void {
  assertHex64(id);
  if (!(bytes instanceof Uint8Array)) throw new InvalidInputError(`chunk ${id}: bytes must be a Uint8Array`);
  if (bytes.length > MAX_CHUNK_SIZE) {
    throw new InvalidInputError(`chunk ${id}: ${bytes.length} bytes exceeds the ${MAX_CHUNK_SIZE}-byte maximum`);
  }
  const actual = chunkId(bytes);
  if (actual !== id) throw new HashMismatchError(`chunk ${id}`, id, actual);
}

/**
 * A zstd compressor at a fixed level. The encoding choice depends only on the bytes and the level,
 * so concurrent writers of one chunk (with the same level) pick the same encoding.
 */
export class ChunkEncoder {
  private readonly compressor = new Compressor();

  constructor(readonly level: number = DEFAULT_COMPRESSION_LEVEL) {
    if (!Number.isInteger(level)) throw new InvalidInputError(`zstd compression level must be an integer, got ${level}`);
    this.compressor.setParameters({ compressionLevel: level });
  }

  encode(bytes: Uint8Array): EncodedChunk {
    if (bytes.length === 0) return { encoding: 'identity', stored: bytes };
    const compressed = this.compressor.compress(bytes);
    // Integer arithmetic: no float rounding may make two writers disagree.
    if (compressed.length * 100 <= bytes.length * ZSTD_MAX_RATIO_PERCENT) return { encoding: 'zstd', stored: compressed };
    return { encoding: 'identity', stored: bytes };
  }
}

// Decompression keeps no state between calls (no dictionary), so one instance serves everyone.
/**
 * Decodes stored bytes and verifies them against `id`. Anything wrong (undecodable zstd, a size
 * beyond MAX_CHUNK_SIZE, a hash mismatch) is a ChunkCorruptError: bad bytes are never returned.
 * Identity input is returned as-is (not copied).
 */
export function decodeChunk(id: string, encoding: ChunkEncoding, stored: Uint8Array): Uint8Array {
  const bytes = encoding === 'zstd' ? inflate(id, stored) : stored;
  const actual = chunkId(bytes);
  if (actual !== id) throw new ChunkCorruptError(id, `content hashes to ${actual}`);
  return bytes;
}

/** The uncompressed size a zstd frame announces, checked against MAX_CHUNK_SIZE. */
export function zstdContentSize(id: string, stored: Uint8Array): number {
  return zstdFrameContentSize(stored, MAX_CHUNK_SIZE, corrupt(id));
}

function inflate(id: string, stored: Uint8Array): Uint8Array {
  return inflateZstdFrame(stored, MAX_CHUNK_SIZE, corrupt(id));
}

function corrupt(id: string) {
  return (reason: string, cause?: unknown) => new ChunkCorruptError(id, reason, { cause });
}
