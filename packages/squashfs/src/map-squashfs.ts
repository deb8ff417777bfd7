import { InvalidInputError } from '@lxchunk/errors';
import { assembleByteMap, type TableStart } from './byte-map.js';
import { blockDecompressor, type BlockDecompressor } from './decompress.js';
import { FragmentTable } from './fragment-table.js';
import { readIdTable } from './id-table.js';
import { ImageReader } from './image-reader.js';
import { IndexedTable } from './indexed-table.js';
import { DEFAULT_MAX_BLOCKS, DEFAULT_MAX_DEPTH, DEFAULT_MAX_ENTRIES, METADATA_BLOCK_SIZE, METADATA_UNCOMPRESSED } from './limits.js';
import { u16, u32, u64Number } from './little-endian.js';
import { malformed } from './malformed.js';
import { MetadataTable } from './metadata-table.js';
import type { ByteRange, SquashfsMap } from './squashfs-map.js';
import {
  EXPORT_ENTRY_SIZE,
  FLAG_COMPRESSOR_OPTIONS,
  FRAGMENT_ENTRY_SIZE,
  ID_ENTRY_SIZE,
  SUPERBLOCK_SIZE,
  parseSuperblock,
  type SquashfsSuperblock,
} from './superblock.js';
import { walkTree } from './walk.js';

export interface MapOptions {
  /** Directory entries over the whole tree (default 4 million). */
  maxEntries?: number;
  /** Data block entries over all files, sparse ones included (default 8 million). */
  maxBlocks?: number;
  /** Directory nesting (default 1024). */
  maxDepth?: number;
}

/** A 16-byte xattr id table header: where the key/value blocks start, how many ids, unused. */
const XATTR_HEADER_SIZE = 16;
const XATTR_ID_ENTRY_SIZE = 16;

/**
 * Maps a squashfs 4.0 image: which byte ranges are data blocks of which file, fragment blocks, or
 * which table, plus each regular file's block list. Reads only the superblock, the tables and the
 * inode and directory metadata, with positioned reads; file contents are never read.
 *
 * Everything read is checked (offsets within bytes_used, tables in order, blocks inside the data
 * area and not overlapping, counts within what the image can physically hold, cycles): a
 * malformed or truncated image throws InvalidInputError saying what is wrong. Errors of the file
 * system (ENOENT, EACCES…) are thrown as they are.
 */
export async function mapSquashfs(path: string, options: MapOptions = {}): Promise<SquashfsMap> {
  const image = await ImageReader.open(path);
  try {
    return await mapImage(image, options);
  } finally {
    await image.close();
  }
}

async function mapImage(image: ImageReader, options: MapOptions): Promise<SquashfsMap> {
  if (image.size < SUPERBLOCK_SIZE) throw malformed(`the file has ${image.size} bytes, fewer than a superblock's ${SUPERBLOCK_SIZE}`);
  const sb = parseSuperblock((await image.read(0, SUPERBLOCK_SIZE, 'the superblock')).slice());
  if (image.size < sb.bytesUsed) throw malformed(`the image is truncated: the file has ${image.size} bytes, bytes_used is ${sb.bytesUsed}`);
  image.limit = sb.bytesUsed;
  const decompress = blockDecompressor(sb.compression);

  const dataStart = await compressorOptionsEnd(image, sb);
  const dataEnd = sb.inodeTableStart;
  // Fragment blocks are at least a byte each and never overlap: a count the data area cannot hold
  // is refused before the table is allocated.
  if (sb.fragmentCount > dataEnd - dataStart) {
    throw malformed(`${sb.fragmentCount} fragments cannot fit in a data area of ${dataEnd - dataStart} bytes`);
  }
  // A fragment is a block: it counts against the same limit as file blocks.
  const maxBlocks = options.maxBlocks ?? DEFAULT_MAX_BLOCKS;
  if (sb.fragmentCount > maxBlocks) throw new InvalidInputError(`squashfs image declares ${sb.fragmentCount} fragments, more than the limit of ${maxBlocks} blocks`);

  const tables = await locateTables(image, decompress, sb);
  const directoryEnd = tables[2]!.start;
  const fragments = await FragmentTable.read(tables.fragmentTable, sb.fragmentCount, sb.blockSize, dataStart, dataEnd);
  await readIdTable(tables.idTable, sb.idCount);

  const inodes = new MetadataTable(image, decompress, { name: 'inode table', start: sb.inodeTableStart, end: sb.directoryTableStart });
  const directories = new MetadataTable(image, decompress, { name: 'directory table', start: sb.directoryTableStart, end: directoryEnd });
  const { files, dataRanges } = await walkTree({
    sb,
    inodes,
    directories,
    fragments,
    dataStart,
    dataEnd,
    limits: {
      maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES,
      maxBlocks,
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    },
  });

  const fragmentList = Array.from({ length: fragments.count }, (_, i) => fragments.get(i));
  const fragmentRanges: ByteRange[] = fragmentList.map(({ offset, length }) => ({ offset, length, kind: 'fragment' }));
  const ranges = assembleByteMap({
    dataStart,
    dataEnd,
    blocks: [...dataRanges, ...fragmentRanges],
    tables,
    bytesUsed: sb.bytesUsed,
    fileSize: image.size,
  });
  for (const range of ranges) {
    if (range.kind === 'inode-table' || range.kind === 'directory-table') {
      const table = range.kind === 'inode-table' ? inodes : directories;
      const sizes = await tileMetadataBlocks(table, range.offset, range.offset + range.length);
      if (sizes) range.metadataBlocks = sizes;
    }
  }
  return { superblock: sb, fileSize: image.size, ranges, files, fragments: fragmentList };
}

/**
 * The metadata blocks of a table, header by header from its start: their sizes if they end
 * exactly at `end`, else null (a table with bytes between its blocks is mapped, just not tiled).
 * The inode and directory tables hold one block per 8 KiB of entries: a few hundred reads at most.
 */
async function tileMetadataBlocks(table: MetadataTable, start: number, end: number): Promise<number[] | null> {
  const sizes: number[] = [];
  let at = start;
  while (at < end) {
    if (at + 2 > end) return null;
    const size = await table.blockSize(at);
    if (at + size > end) return null;
    sizes.push(size);
    at += size;
  }
  return sizes;
}

/**
 * With the compressor-options flag, a metadata block of compressor settings follows the
 * superblock; the data starts after it. Its contents do not matter for decoding (the settings
 * only tune the compressor), so only its size is read.
 */
async function compressorOptionsEnd(image: ImageReader, sb: SquashfsSuperblock): Promise<number> {
  if ((sb.flags & FLAG_COMPRESSOR_OPTIONS) === 0) return SUPERBLOCK_SIZE;
  const word = u16(await image.read(SUPERBLOCK_SIZE, 2, 'the compressor options header'), 0);
  const size = word & ~METADATA_UNCOMPRESSED;
  const end = SUPERBLOCK_SIZE + 2 + size;
  if (size === 0 || size > METADATA_BLOCK_SIZE || end > sb.inodeTableStart) {
    throw malformed(`the compressor options block claims ${size} bytes, which do not fit before the inode table (${sb.inodeTableStart})`);
  }
  return end;
}

type LocatedTables = TableStart[] & { fragmentTable: IndexedTable | null; idTable: IndexedTable };

/**
 * Finds where each table's bytes begin, in on-disk order. The superblock points at the inode and
 * directory tables' first block but at the other tables' index, which follows their blocks: the
 * index gives the first block. Each table must start after the previous one's index ends.
 */
async function locateTables(image: ImageReader, decompress: BlockDecompressor, sb: SquashfsSuperblock): Promise<LocatedTables> {
  const starts: TableStart[] = [
    { kind: 'inode-table', start: sb.inodeTableStart },
    { kind: 'directory-table', start: sb.directoryTableStart },
  ];
  let lower = sb.directoryTableStart;
  const locate = async (name: string, indexStart: number, count: number, entrySize: number): Promise<IndexedTable> => {
    const table = await IndexedTable.locate(image, decompress, name, indexStart, count, entrySize, lower);
    lower = table.indexEnd;
    return table;
  };
  let fragmentTable: IndexedTable | null = null;
  if (sb.fragmentTableStart !== null) {
    fragmentTable = await locate('fragment table', sb.fragmentTableStart, sb.fragmentCount, FRAGMENT_ENTRY_SIZE);
    starts.push({ kind: 'fragment-table', start: fragmentTable.start });
  }
  if (sb.exportTableStart !== null) {
    starts.push({ kind: 'export-table', start: (await locate('export table', sb.exportTableStart, sb.inodeCount, EXPORT_ENTRY_SIZE)).start });
  }
  const idTable = await locate('id table', sb.idTableStart, sb.idCount, ID_ENTRY_SIZE);
  starts.push({ kind: 'id-table', start: idTable.start });
  if (sb.xattrIdTableStart !== null) {
    // The key/value blocks come first, then the id blocks, then this header and the id index.
    const header = (await image.read(sb.xattrIdTableStart, XATTR_HEADER_SIZE, 'the xattr id table header')).slice();
    const kvStart = u64Number(header, 0, 'xattr table start');
    const ids = u32(header, 8);
    if (kvStart < lower || kvStart > sb.xattrIdTableStart) {
      throw malformed(`the xattr table start ${kvStart} lies outside ${lower}..${sb.xattrIdTableStart}`);
    }
    lower = kvStart;
    await locate('xattr id table', sb.xattrIdTableStart + XATTR_HEADER_SIZE, ids, XATTR_ID_ENTRY_SIZE);
    starts.push({ kind: 'xattr', start: kvStart });
  }
  if (lower > sb.bytesUsed) throw malformed(`the last table ends at ${lower}, beyond bytes_used ${sb.bytesUsed}`);
  return Object.assign(starts, { fragmentTable, idTable });
}
