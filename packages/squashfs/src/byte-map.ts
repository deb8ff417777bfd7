import { malformed } from './malformed.js';
import type { ByteRange, ByteRangeKind } from './squashfs-map.js';

/** Where one table's bytes begin; it runs up to the next table's start (the last one to bytes_used). */
export interface TableStart {
  readonly kind: ByteRangeKind;
  readonly start: number;
}

export interface ByteMapParts {
  /** Superblock plus compressor options: [0, dataStart). */
  readonly dataStart: number;
  /** The data area ends where the first table (the inode table) begins. */
  readonly dataEnd: number;
  /** Data and fragment blocks, in any order; identical ranges (deduplicated files) may repeat. */
  readonly blocks: readonly ByteRange[];
  /** The tables in on-disk order, starting at dataEnd. */
  readonly tables: readonly TableStart[];
  readonly bytesUsed: number;
  readonly fileSize: number;
}

/**
 * Lays out the whole file as sorted ranges with no gap and no overlap. Blocks must lie in the
 * data area and may not overlap one another unless they are the very same block (mksquashfs
 * stores a duplicate file's blocks once and points both inodes at them). Data-area bytes no block
 * claims are 'data' without a file; bytes between two tables belong to the earlier one (a table
 * has no stored end); bytes past bytes_used are 'padding'.
 */
export function assembleByteMap(parts: ByteMapParts): ByteRange[] {
  const { dataStart, dataEnd, bytesUsed, fileSize } = parts;
  const ranges: ByteRange[] = [{ offset: 0, length: dataStart, kind: 'superblock' }];

  const blocks = [...parts.blocks].sort((a, b) => a.offset - b.offset || a.length - b.length);
  let at = dataStart;
  let last: ByteRange | undefined;
  for (const block of blocks) {
    if (block.offset < dataStart || block.offset + block.length > dataEnd) {
      throw malformed(`a ${block.kind} block at ${block.offset} (${block.length} bytes) lies outside the data area ${dataStart}..${dataEnd}`);
    }
    if (last && block.offset === last.offset && block.length === last.length && block.kind === last.kind) continue;
    if (block.offset < at) {
      throw malformed(`${describe(block)} overlaps ${last ? describe(last) : 'the superblock'}`);
    }
    if (block.offset > at) ranges.push({ offset: at, length: block.offset - at, kind: 'data' });
    ranges.push(block);
    at = block.offset + block.length;
    last = block;
  }
  if (at < dataEnd) ranges.push({ offset: at, length: dataEnd - at, kind: 'data' });

  const tables = parts.tables;
  if (tables[0]?.start !== dataEnd) throw malformed(`the first table does not start where the data ends (${dataEnd})`);
  for (let i = 0; i < tables.length; i++) {
    const table = tables[i]!;
    const end = tables[i + 1]?.start ?? bytesUsed;
    if (end < table.start) throw malformed(`the ${tables[i + 1]!.kind} (${end}) starts before the ${table.kind} (${table.start})`);
    if (end > table.start) ranges.push({ offset: table.start, length: end - table.start, kind: table.kind });
  }
  if (fileSize > bytesUsed) ranges.push({ offset: bytesUsed, length: fileSize - bytesUsed, kind: 'padding' });
  return ranges;
}

function describe(range: ByteRange): string {
  return `the ${range.kind} block at ${range.offset} (${range.length} bytes${range.file ? ` of ${range.file}` : ''})`;
}
