import { blake3 } from '@napi-rs/blake-hash';
import { InvalidIdError } from '@lxchunk/errors';

/** A chunk id: BLAKE3-256 of the chunk's uncompressed bytes, as 64 lowercase hex characters. */
export type ChunkId = string;

export const ID_BYTES = 32;
const HEX64 = /^[0-9a-f]{64}$/;

export function chunkId(bytes: Uint8Array): ChunkId {
  return blake3(bytes).toString('hex');
}

export function isChunkId(value: unknown): value is ChunkId {
  return typeof value === 'string' && HEX64.test(value);
}

/** Also used for sha256 hex digests (LXD fingerprints, file hashes): same shape, same rule. */
export function assertHex64(value: unknown, what = 'chunk id'): asserts value is string {
  if (!isChunkId(value)) throw new InvalidIdError(what, value);
}

export function idToBytes(id: ChunkId): Buffer {
  assertHex64(id);
  return Buffer.from(id, 'hex');
}

export function idFromBytes(bytes: Uint8Array): ChunkId {
  if (bytes.length !== ID_BYTES) throw new InvalidIdError('chunk id', `<${bytes.length} bytes>`);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
