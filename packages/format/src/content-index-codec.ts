/**
 * Binary encoding of a ContentIndex, version 1. All integers little-endian.
 *
 *   offset  size      field
 *        0     4      magic, ASCII "LXCX"
 *        4     2      u16 version = 1
 *        6     1      u8 encoder id length E (1..64)
 *        7     E      encoder id, printable ASCII
 *      7+E     4      u32 block count B
 *     11+E  39*B      B blocks: u64 offset, u32 length, u32 contentLength, u8 filter, u32 dictSize,
 *                     16 bytes storedHash (BLAKE3 of the stored bytes, truncated), 2 zero bytes
 *
 * A block entry is a multiple of 3 bytes on purpose: the index travels as base64 inside a manifest
 * that is zstd-compressed against the host's previous manifest, and an entry of any other length
 * shifts the base64 of everything after the block table whenever the block count changes, so the
 * dictionary stops matching (measured: a nightly's manifest grew from 33 KiB to 436 KiB at 37).
 *        …     4      u32 length L of the content stream's index
 *        …     L      the content stream's index (LXCI, index-codec.ts, with its own trailer)
 *        …    32      trailer: sha256 of every byte before it
 *
 * One content index has exactly one encoding. Decoding checks magic and version, lengths before
 * any allocation per block, the trailer, then the meaning (validateContentIndex).
 */
import { createHash } from 'node:crypto';
import { MalformedIndexError } from '@lxchunk/errors';
import { validateContentIndex, type ContentIndex, type RebuiltBlock } from './content-index.js';
import { decodeIndex, encodeIndex } from './index-codec.js';

export const CONTENT_INDEX_MAGIC = 'LXCX';
export const CONTENT_INDEX_VERSION = 1;
const BLOCK_BYTES = 39;
const TRAILER_BYTES = 32;
const MAGIC_BYTES = Buffer.from(CONTENT_INDEX_MAGIC, 'ascii');

/** Validates first (against the size of the file it describes): an invalid one is never written. */
export function encodeContentIndex(content: ContentIndex, fileSize: number): Uint8Array {
  const valid = validateContentIndex(content, fileSize);
  const encoder = Buffer.from(valid.encoder, 'ascii');
  const index = encodeIndex(valid.index);
  const bodyLength = 7 + encoder.length + 4 + BLOCK_BYTES * valid.blocks.length + 4 + index.length;
  const bytes = new Uint8Array(bodyLength + TRAILER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC_BYTES, 0);
  view.setUint16(4, CONTENT_INDEX_VERSION, true);
  view.setUint8(6, encoder.length);
  bytes.set(encoder, 7);
  let at = 7 + encoder.length;
  view.setUint32(at, valid.blocks.length, true);
  at += 4;
  for (const block of valid.blocks) {
    view.setBigUint64(at, BigInt(block.offset), true);
    view.setUint32(at + 8, block.length, true);
    view.setUint32(at + 12, block.contentLength, true);
    view.setUint8(at + 16, block.filter);
    view.setUint32(at + 17, block.dictSize, true);
    bytes.set(Buffer.from(block.storedHash, 'hex'), at + 21);
    at += BLOCK_BYTES;
  }
  view.setUint32(at, index.length, true);
  bytes.set(index, at + 4);
  bytes.set(sha256(bytes.subarray(0, bodyLength)), bodyLength);
  return bytes;
}

export function decodeContentIndex(bytes: Uint8Array, fileSize: number): ContentIndex {
  if (!(bytes instanceof Uint8Array)) throw new MalformedIndexError('content index: expected a Uint8Array');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (length: number, what: string) => {
    if (bytes.length < length) throw new MalformedIndexError(`content index: truncated at ${what}: need ${length} bytes, got ${bytes.length}`);
  };
  need(4, 'magic');
  if (!MAGIC_BYTES.equals(bytes.subarray(0, 4))) {
    throw new MalformedIndexError(`content index: wrong magic: expected "LXCX", got ${Buffer.from(bytes.subarray(0, 4)).toString('hex')}`);
  }
  need(7, 'version');
  const version = view.getUint16(4, true);
  if (version !== CONTENT_INDEX_VERSION) throw new MalformedIndexError(`content index: unsupported version ${version} (this reader knows ${CONTENT_INDEX_VERSION})`);
  const encoderLength = view.getUint8(6);
  need(7 + encoderLength + 4, 'the block count');
  const encoder = Buffer.from(bytes.subarray(7, 7 + encoderLength)).toString('latin1');
  let at = 7 + encoderLength;
  const count = view.getUint32(at, true);
  at += 4;
  need(at + BLOCK_BYTES * count + 4, `${count} blocks`);
  const blocks: RebuiltBlock[] = new Array<RebuiltBlock>(count);
  for (let i = 0; i < count; i++) {
    const offset = view.getBigUint64(at, true);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new MalformedIndexError(`content block ${i}: offset ${offset} is too large`);
    blocks[i] = {
      offset: Number(offset),
      length: view.getUint32(at + 8, true),
      contentLength: view.getUint32(at + 12, true),
      filter: view.getUint8(at + 16),
      dictSize: view.getUint32(at + 17, true),
      storedHash: Buffer.from(bytes.subarray(at + 21, at + 37)).toString('hex'),
    };
    if (view.getUint16(at + 37, true) !== 0) throw new MalformedIndexError(`content block ${i}: padding bytes must be zero`);
    at += BLOCK_BYTES;
  }
  const indexLength = view.getUint32(at, true);
  at += 4;
  const expected = at + indexLength + TRAILER_BYTES;
  if (bytes.length !== expected) throw new MalformedIndexError(`content index: ${bytes.length} bytes where its lengths say ${expected}`);
  const body = bytes.subarray(0, at + indexLength);
  if (!sha256(body).equals(bytes.subarray(at + indexLength))) throw new MalformedIndexError('content index: checksum mismatch');
  return validateContentIndex({ encoder, blocks, index: decodeIndex(bytes.subarray(at, at + indexLength)) }, fileSize);
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}
