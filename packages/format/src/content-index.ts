import { MalformedIndexError } from '@lxchunk/errors';
import { validateIndex, type ChunkIndex } from './chunk-index.js';
import { brief, kind } from './describe-value.js';

/** One compressed block of a file that the pinned encoder rebuilds byte for byte from its content. */
export interface RebuiltBlock {
  /** Where the block's stored (compressed) bytes start in the file. */
  readonly offset: number;
  /** Its stored bytes. */
  readonly length: number;
  /** What it decompresses to: its share of the content stream. */
  readonly contentLength: number;
  /** xz filter id before LZMA2 (a BCJ filter, 0x04 to 0x09), or 0 for none. */
  readonly filter: number;
  /** The LZMA2 dictionary size the block header names. */
  readonly dictSize: number;
  /**
   * The first 16 bytes of the BLAKE3 of its stored bytes, 32 lowercase hex: lets the next push
   * reuse this recipe for the same block without re-encoding it.
   */
  readonly storedHash: string;
}

/**
 * A file's compressed blocks described by their content: the blocks the encoder rebuilds exactly,
 * in file order, and the chunks of their contents concatenated in that order (the content stream).
 * Everything else in the file (tables, blocks that do not reproduce) stays in the file's ordinary
 * index, which always describes the whole file: a host can rebuild a block or fetch its bytes.
 */
export interface ContentIndex {
  /** The encoder the recipes are valid for; a host with another one must not use them. */
  readonly encoder: string;
  readonly blocks: readonly RebuiltBlock[];
  /** The content stream, cut by plain CDC so a file's bytes dedup wherever they sit. */
  readonly index: ChunkIndex;
}

export const CONTENT_FILTERS: readonly number[] = [0x00, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09];
/** liblzma's LZMA2 dictionary bounds. */
const DICT_MIN = 4096;
const DICT_MAX = 1536 * 1024 * 1024;
/** A squashfs block is at most 1 MiB; its compressed form a little more. */
export const MAX_REBUILT_BLOCK = 2 * 1024 * 1024;
const ENCODER_RULE = /^[\x21-\x7e]{1,64}$/;
const STORED_HASH_RULE = /^[0-9a-f]{32}$/;

/**
 * Checks a content index against the file it describes (`fileSize`) and returns a frozen copy:
 * blocks in file order without overlap, inside the file, their content lengths adding up to the
 * content stream's size. Throws MalformedIndexError naming the first problem.
 */
export function validateContentIndex(content: ContentIndex, fileSize: number): ContentIndex {
  if (typeof content !== 'object' || content === null) throw new MalformedIndexError(`content index: expected an object, got ${kind(content)}`);
  const { encoder, blocks } = content;
  if (typeof encoder !== 'string' || !ENCODER_RULE.test(encoder)) {
    throw new MalformedIndexError(`content index: encoder must be 1 to 64 printable ASCII characters, got ${brief(encoder)}`);
  }
  if (!Array.isArray(blocks)) throw new MalformedIndexError(`content index: blocks must be an array, got ${kind(blocks)}`);
  const index = validateIndex(content.index);
  if (index.method !== 'cdc') throw new MalformedIndexError(`content index: the content stream is cut by cdc, not ${index.method}`);
  const out: RebuiltBlock[] = new Array<RebuiltBlock>(blocks.length);
  let end = 0;
  let contentTotal = 0;
  for (let i = 0; i < blocks.length; i++) {
    const block: unknown = blocks[i];
    if (typeof block !== 'object' || block === null) throw new MalformedIndexError(`content block ${i}: expected an object, got ${kind(block)}`);
    const { offset, length, contentLength, filter, dictSize, storedHash } = block as Partial<RebuiltBlock>;
    const where = `content block ${i}`;
    if (!Number.isSafeInteger(offset) || offset! < end) throw new MalformedIndexError(`${where}: offset must be an integer at or after ${end} (blocks in file order, no overlap), got ${brief(offset)}`);
    for (const [name, value] of [['length', length], ['contentLength', contentLength]] as const) {
      if (!Number.isInteger(value) || value! < 1 || value! > MAX_REBUILT_BLOCK) throw new MalformedIndexError(`${where}: ${name} must be an integer from 1 to ${MAX_REBUILT_BLOCK}, got ${brief(value)}`);
    }
    if (offset! + length! > fileSize) throw new MalformedIndexError(`${where}: ends at ${offset! + length!}, past the end of the ${fileSize}-byte file`);
    if (!CONTENT_FILTERS.includes(filter as number)) throw new MalformedIndexError(`${where}: filter must be one of ${CONTENT_FILTERS.join(', ')}, got ${brief(filter)}`);
    if (!Number.isInteger(dictSize) || dictSize! < DICT_MIN || dictSize! > DICT_MAX) throw new MalformedIndexError(`${where}: dictSize must be an integer from ${DICT_MIN} to ${DICT_MAX}, got ${brief(dictSize)}`);
    if (typeof storedHash !== 'string' || !STORED_HASH_RULE.test(storedHash)) throw new MalformedIndexError(`${where}: storedHash must be 32 lowercase hex characters, got ${brief(storedHash)}`);
    end = offset! + length!;
    contentTotal += contentLength!;
    out[i] = Object.freeze({ offset: offset!, length: length!, contentLength: contentLength!, filter: filter!, dictSize: dictSize!, storedHash });
  }
  if (contentTotal !== index.size) throw new MalformedIndexError(`content index: the blocks hold ${contentTotal} bytes of content but the content stream has ${index.size}`);
  return Object.freeze({ encoder, blocks: Object.freeze(out), index });
}
