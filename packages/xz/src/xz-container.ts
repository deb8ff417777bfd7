import { crc32 } from './crc32.js';
import { decodeDictByte, encodeDictByte } from './dict-size.js';
import { decodeVli, encodeVli } from './vli.js';
import { BCJ_FILTER_IDS, LZMA2_FILTER_ID, type XzFilter, type XzRecipe } from './xz-recipe.js';

const STREAM_MAGIC = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];
const FOOTER_MAGIC = [0x59, 0x5a];
/** Stream flags: check type 1 = CRC32. */
const STREAM_FLAGS_CRC32 = [0x00, 0x01];
const CRC32_SIZE = 4;
/** Block flags: compressed size present, uncompressed size present (what lzma_block_buffer_encode writes). */
const BLOCK_FLAGS_SIZES = 0xc0;
/** LZMA2 writes a 3-byte header per chunk of at most 64 KiB when it stores data uncompressed. */
const LZMA2_CHUNK_MAX = 1 << 16;
const LZMA2_HEADER_UNCOMPRESSED = 3;

/**
 * Wraps a raw LZMA2 (or BCJ + LZMA2) payload the way liblzma's `lzma_stream_buffer_encode` does:
 * stream header, one block with both sizes in its header, CRC32 of the content, index, footer.
 *
 * The one non-obvious byte: liblzma sizes the block header for the worst-case compressed size
 * (`lzma2_bound`), encodes, then writes the real size into the header it already reserved, so a
 * block whose real size has a shorter VLI keeps the zero padding of the longer one.
 */
export function wrapXzBlock(payload: Uint8Array, content: Uint8Array, recipe: XzRecipe): Uint8Array {
  const filters = filterFlags(recipe);
  const headerSize = roundUp4(2 + encodeVli(lzma2Bound(content.length)).length + encodeVli(content.length).length + filters.length + CRC32_SIZE);
  const header = [headerSize / 4 - 1, BLOCK_FLAGS_SIZES | (recipe.filter === 'none' ? 0 : 1), ...encodeVli(payload.length), ...encodeVli(content.length), ...filters];
  while (header.length < headerSize - CRC32_SIZE) header.push(0);
  const headerBytes = Uint8Array.from(header);

  const unpaddedSize = headerSize + payload.length + CRC32_SIZE;
  const index = [0x00, ...encodeVli(1), ...encodeVli(unpaddedSize), ...encodeVli(content.length)];
  while (index.length % 4 !== 0) index.push(0);
  const indexBytes = Uint8Array.from(index);
  const backward = le32((indexBytes.length + CRC32_SIZE) / 4 - 1);
  const footerBody = Uint8Array.from([...backward, ...STREAM_FLAGS_CRC32]);

  const streamFlags = Uint8Array.from(STREAM_FLAGS_CRC32);
  return concat([
    Uint8Array.from(STREAM_MAGIC),
    streamFlags,
    le32(crc32(streamFlags)),
    headerBytes,
    le32(crc32(headerBytes)),
    payload,
    new Uint8Array(roundUp4(payload.length) - payload.length),
    le32(crc32(content)),
    indexBytes,
    le32(crc32(indexBytes)),
    le32(crc32(footerBody)),
    footerBody,
    Uint8Array.from(FOOTER_MAGIC),
  ]);
}

/** What a block's own xz headers say: the recipe to try and the sizes it claims. */
export interface XzBlockHeader {
  recipe: XzRecipe;
  /** Size of the content the block decodes to. */
  uncompressedSize: number;
  compressedSize: number;
}

/**
 * Reads the stream and block headers of a squashfs xz block. Returns undefined for anything
 * `lzma_stream_buffer_encode` as mksquashfs calls it would not have written (another check, a
 * block header without sizes, a filter chain other than [BCJ] + LZMA2, a BCJ start offset, a bad
 * CRC): such a block has no recipe and keeps its compressed bytes.
 */
export function parseXzBlockHeader(bytes: Uint8Array): XzBlockHeader | undefined {
  if (bytes.length < 12 + 8) return undefined;
  if (!STREAM_MAGIC.every((b, i) => bytes[i] === b)) return undefined;
  if (bytes[6] !== STREAM_FLAGS_CRC32[0] || bytes[7] !== STREAM_FLAGS_CRC32[1]) return undefined;
  if (readLe32(bytes, 8) !== crc32(bytes.subarray(6, 8))) return undefined;

  const start = 12;
  const headerSize = (bytes[start]! + 1) * 4;
  if (bytes[start] === 0 || start + headerSize > bytes.length) return undefined;
  const end = start + headerSize - CRC32_SIZE;
  if (readLe32(bytes, end) !== crc32(bytes.subarray(start, end))) return undefined;
  const flags = bytes[start + 1]!;
  const filterCount = (flags & 0x03) + 1;
  if ((flags & 0xfc) !== BLOCK_FLAGS_SIZES || filterCount > 2) return undefined;

  const compressed = decodeVli(bytes, start + 2, end);
  const uncompressed = compressed && decodeVli(bytes, compressed.next, end);
  if (!compressed || !uncompressed) return undefined;
  let at = uncompressed.next;
  let filter: XzFilter = 'none';
  if (filterCount === 2) {
    const id = decodeVli(bytes, at, end);
    const propsSize = id && decodeVli(bytes, id.next, end);
    const name = id && (Object.keys(BCJ_FILTER_IDS) as Array<keyof typeof BCJ_FILTER_IDS>).find((f) => BCJ_FILTER_IDS[f] === id.value);
    // mksquashfs never sets a start offset, and liblzma then writes no properties.
    if (!name || !propsSize || propsSize.value !== 0) return undefined;
    filter = name;
    at = propsSize.next;
  }
  if (bytes[at] !== LZMA2_FILTER_ID || bytes[at + 1] !== 1 || at + 3 > end) return undefined;
  const dictSize = decodeDictByte(bytes[at + 2]!);
  if (dictSize === undefined) return undefined;
  for (let i = at + 3; i < end; i++) if (bytes[i] !== 0) return undefined;
  return { recipe: { dictSize, filter, check: 'crc32' }, uncompressedSize: uncompressed.value, compressedSize: compressed.value };
}

function filterFlags(recipe: XzRecipe): number[] {
  const bcj = recipe.filter === 'none' ? [] : [BCJ_FILTER_IDS[recipe.filter], 0];
  return [...bcj, LZMA2_FILTER_ID, 1, encodeDictByte(recipe.dictSize)];
}

/** liblzma's lzma2_bound: the size of the content stored as uncompressed LZMA2 chunks. */
function lzma2Bound(size: number): number {
  return size + Math.ceil(size / LZMA2_CHUNK_MAX) * LZMA2_HEADER_UNCOMPRESSED + 1;
}

function roundUp4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function le32(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, true);
  return out;
}

function readLe32(bytes: Uint8Array, offset: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(offset, true);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
