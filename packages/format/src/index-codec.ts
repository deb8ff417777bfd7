/**
 * Binary encoding of a ChunkIndex, version 1. All integers little-endian.
 *
 *   offset  size      field
 *        0     4      magic, ASCII "LXCI"
 *        4     2      u16 version = 1
 *        6     2      u16 flags: bit 0 set = method 'squashfs', clear = 'cdc'; any other bit is rejected
 *        8     4      u32 params.min
 *       12     4      u32 params.avg
 *       16     4      u32 params.max
 *       20     8      u64 file size (at most Number.MAX_SAFE_INTEGER)
 *       28    32      sha256 of the file
 *       60     4      u32 entry count N
 *       64  36*N      N entries: 32-byte chunk id (BLAKE3-256), u32 chunk length
 *  64+36*N    32      trailer: sha256 of bytes [0, 64+36*N)
 *
 * Total: 96 + 36*N bytes. Every byte is determined by the index, so one index has exactly one
 * encoding: decode then encode gives back the same bytes.
 *
 * Decoding checks, in this order: magic and version (is this our format at all), the fixed part's
 * length, flags, the length the count implies against the actual length (before anything is
 * allocated per entry, so a forged count cannot make us allocate), the trailer checksum (corruption
 * is reported as such rather than as whatever field it happened to hit), then the meaning of the
 * fields via validateIndex.
 */
import { createHash } from 'node:crypto';
import { ID_BYTES, idFromBytes } from '@lxchunk/chunker';
import { MalformedIndexError } from '@lxchunk/errors';
import { validateIndex, type ChunkIndex, type IndexEntry } from './chunk-index.js';

export const INDEX_MAGIC = 'LXCI';
export const INDEX_VERSION = 1;
/** Fixed part before the entries. */
export const INDEX_HEADER_BYTES = 64;
export const INDEX_ENTRY_BYTES = ID_BYTES + 4;
export const INDEX_TRAILER_BYTES = 32;
/** The smallest possible encoding: an empty file, no entries. */
export const INDEX_MIN_BYTES = INDEX_HEADER_BYTES + INDEX_TRAILER_BYTES;

/** Flag bits. A reader rejects bits it does not know: they may change how the index is meant. */
const FLAG_SQUASHFS_METHOD = 0x0001;
const KNOWN_FLAGS = FLAG_SQUASHFS_METHOD;

const MAGIC_BYTES = Buffer.from(INDEX_MAGIC, 'ascii');
const U32_LIMIT = 2 ** 32;

/** The exact size of the encoding of an index with `count` entries. */
export function encodedIndexLength(count: number): number {
  return INDEX_MIN_BYTES + count * INDEX_ENTRY_BYTES;
}

/** Validates first: an invalid index is never written. */
export function encodeIndex(index: ChunkIndex): Uint8Array {
  const valid = validateIndex(index);
  const count = valid.chunks.length;
  // u32 fields: params are capped far lower by validateParams; the count needs its own check.
  if (count >= U32_LIMIT) throw new MalformedIndexError(`too many chunks for the format: ${count}`);
  const bodyLength = INDEX_HEADER_BYTES + count * INDEX_ENTRY_BYTES;
  const bytes = new Uint8Array(bodyLength + INDEX_TRAILER_BYTES);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  bytes.set(MAGIC_BYTES, 0);
  view.setUint16(4, INDEX_VERSION, true);
  view.setUint16(6, valid.method === 'squashfs' ? FLAG_SQUASHFS_METHOD : 0, true);
  view.setUint32(8, valid.params.min, true);
  view.setUint32(12, valid.params.avg, true);
  view.setUint32(16, valid.params.max, true);
  view.setBigUint64(20, BigInt(valid.size), true);
  bytes.set(Buffer.from(valid.sha256, 'hex'), 28);
  view.setUint32(60, count, true);
  let at = INDEX_HEADER_BYTES;
  for (const { id, length } of valid.chunks) {
    bytes.set(Buffer.from(id, 'hex'), at);
    view.setUint32(at + ID_BYTES, length, true);
    at += INDEX_ENTRY_BYTES;
  }
  bytes.set(sha256(bytes.subarray(0, bodyLength)), bodyLength);
  return bytes;
}

export function decodeIndex(bytes: Uint8Array): ChunkIndex {
  if (!(bytes instanceof Uint8Array)) throw new MalformedIndexError('expected a Uint8Array');
  const got = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  // Identify the format as soon as there are enough bytes to, so a wrong file says so.
  if (got >= 4 && !MAGIC_BYTES.equals(bytes.subarray(0, 4))) {
    throw new MalformedIndexError(`wrong magic: expected "LXCI" (4c584349), got ${Buffer.from(bytes.subarray(0, 4)).toString('hex')}`);
  }
  if (got >= 6) {
    const version = view.getUint16(4, true);
    if (version !== INDEX_VERSION) throw new MalformedIndexError(`unsupported version ${version} (this reader knows version ${INDEX_VERSION})`);
  }
  if (got < INDEX_MIN_BYTES) {
    throw new MalformedIndexError(`truncated: expected at least ${INDEX_MIN_BYTES} bytes, got ${got}`);
  }
  const flags = view.getUint16(6, true);
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new MalformedIndexError(`unknown flags 0x${(flags & ~KNOWN_FLAGS).toString(16).padStart(4, '0')}`);
  }

  const count = view.getUint32(60, true);
  const expected = encodedIndexLength(count); // < 2^38: exact as a number
  if (got < expected) {
    throw new MalformedIndexError(`truncated: ${count} entries need ${expected} bytes, got ${got}`);
  }
  if (got > expected) {
    throw new MalformedIndexError(`${got - expected} trailing bytes: ${count} entries need ${expected} bytes, got ${got}`);
  }

  const bodyLength = expected - INDEX_TRAILER_BYTES;
  const actualSum = sha256(bytes.subarray(0, bodyLength));
  const storedSum = bytes.subarray(bodyLength);
  if (!actualSum.equals(storedSum)) {
    throw new MalformedIndexError(
      `checksum mismatch: trailer says ${Buffer.from(storedSum).toString('hex')}, content hashes to ${actualSum.toString('hex')}`,
    );
  }

  const size = view.getBigUint64(20, true);
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MalformedIndexError(`file size ${size} is larger than ${Number.MAX_SAFE_INTEGER}`);
  }
  const chunks = new Array<IndexEntry>(count);
  let at = INDEX_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    chunks[i] = { id: idFromBytes(bytes.subarray(at, at + ID_BYTES)), length: view.getUint32(at + ID_BYTES, true) };
    at += INDEX_ENTRY_BYTES;
  }
  return validateIndex({
    size: Number(size),
    sha256: Buffer.from(bytes.buffer, bytes.byteOffset + 28, 32).toString('hex'),
    params: { min: view.getUint32(8, true), avg: view.getUint32(12, true), max: view.getUint32(16, true) },
    method: flags & FLAG_SQUASHFS_METHOD ? 'squashfs' : 'cdc',
    chunks,
  });
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
