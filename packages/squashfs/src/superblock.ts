import { u16, u32, u64, u64Number } from './little-endian.js';
import { METADATA_BLOCK_SIZE } from './limits.js';
import { malformed } from './malformed.js';

/** The superblock occupies the first 96 bytes of every squashfs 4.0 image. */
export const SUPERBLOCK_SIZE = 96;

/** 'hsqs' read as a little-endian u32. */
const MAGIC = 0x73717368;

/** A table start of all ones means "this table is absent". */
const ABSENT = 0xffff_ffff_ffff_ffffn;

export type SquashfsCompression = 'gzip' | 'lzma' | 'lzo' | 'xz' | 'lz4' | 'zstd';

/** Compression ids as stored (1-based, in this order). */
const COMPRESSIONS: readonly SquashfsCompression[] = ['gzip', 'lzma', 'lzo', 'xz', 'lz4', 'zstd'];

/** Superblock flag bits that change how the rest of the image is read or mapped. */
export const FLAG_NO_FRAGMENTS = 0x0010;
export const FLAG_COMPRESSOR_OPTIONS = 0x0400;

/** Entries per 8 KiB metadata block of the indexed tables (entry sizes 16, 8 and 4 bytes). */
export const FRAGMENT_ENTRY_SIZE = 16;
export const EXPORT_ENTRY_SIZE = 8;
export const ID_ENTRY_SIZE = 4;

export interface SquashfsSuperblock {
  inodeCount: number;
  /** Seconds since the epoch (u32). */
  modificationTime: number;
  blockSize: number;
  fragmentCount: number;
  compression: SquashfsCompression;
  blockLog: number;
  flags: number;
  /** The image was built without fragments (`-no-fragments`): every file is whole blocks. */
  noFragments: boolean;
  idCount: number;
  versionMajor: number;
  versionMinor: number;
  /** Reference to the root directory's inode: block offset in the inode table << 16 | offset in the block. */
  rootInode: bigint;
  /** The image's length; the file is usually padded beyond it to a multiple of 4 KiB. */
  bytesUsed: number;
  /** Where the id table's index lies (its metadata blocks precede it). */
  idTableStart: number;
  /** Where the xattr id table's header lies, or null when the image has no xattrs. */
  xattrIdTableStart: number | null;
  inodeTableStart: number;
  directoryTableStart: number;
  /** Where the fragment table's index lies, or null when absent (only allowed with no fragments). */
  fragmentTableStart: number | null;
  /** Where the export (NFS lookup) table's index lies, or null when built with `-no-exports`. */
  exportTableStart: number | null;
}

/** Bytes taken by the index (one u64 pointer per metadata block) of a table of `count` entries. */
export function indexBytes(count: number, entrySize: number): number {
  return Math.ceil((count * entrySize) / METADATA_BLOCK_SIZE) * 8;
}

/**
 * Parses and validates the superblock from the first 96 bytes of an image. Validation covers what
 * the superblock alone can prove: magic, version, a block size the kernel accepts, table offsets
 * in mksquashfs' order (inode, directory, fragment, export, id, xattr), each index fitting before
 * the next table and within bytes_used. Anything that needs the tables themselves is checked by
 * mapSquashfs.
 */
export function parseSuperblock(bytes: Uint8Array): SquashfsSuperblock {
  if (bytes.length < SUPERBLOCK_SIZE) {
    throw malformed(`the superblock needs ${SUPERBLOCK_SIZE} bytes, the image has ${bytes.length}`);
  }
  const magic = u32(bytes, 0);
  if (magic !== MAGIC) throw malformed(`bad magic 0x${magic.toString(16).padStart(8, '0')} (not a squashfs 4 image)`);
  const versionMajor = u16(bytes, 28);
  const versionMinor = u16(bytes, 30);
  if (versionMajor !== 4 || versionMinor !== 0) throw malformed(`unsupported squashfs version ${versionMajor}.${versionMinor} (only 4.0)`);

  const compressionId = u16(bytes, 20);
  const compression = COMPRESSIONS[compressionId - 1];
  if (compression === undefined) throw malformed(`unknown compression id ${compressionId}`);

  const blockSize = u32(bytes, 12);
  const blockLog = u16(bytes, 22);
  // The kernel refuses blocks outside 4 KiB..1 MiB; a non-power of two breaks its block arithmetic.
  if (blockSize < 4096 || blockSize > 1 << 20 || (blockSize & (blockSize - 1)) !== 0) {
    throw malformed(`block size ${blockSize} is not a power of two between 4 KiB and 1 MiB`);
  }
  if (2 ** blockLog !== blockSize) throw malformed(`block_log ${blockLog} does not match block size ${blockSize}`);

  const inodeCount = u32(bytes, 4);
  if (inodeCount === 0) throw malformed('the inode count is 0 (there is always a root directory)');
  const fragmentCount = u32(bytes, 16);
  const flags = u16(bytes, 24);
  const idCount = u16(bytes, 26);
  if (idCount === 0) throw malformed('the id count is 0 (every inode needs an owner id)');

  const rootInode = u64(bytes, 32);
  if (rootInode >> 48n !== 0n || (rootInode & 0xffffn) >= BigInt(METADATA_BLOCK_SIZE)) {
    throw malformed(`root inode reference 0x${rootInode.toString(16)} is not a valid inode reference`);
  }

  const bytesUsed = u64Number(bytes, 40, 'bytes_used');
  if (bytesUsed < SUPERBLOCK_SIZE) throw malformed(`bytes_used ${bytesUsed} is smaller than the superblock`);
  const start = (offset: number, name: string): number | null =>
    u64(bytes, offset) === ABSENT ? null : u64Number(bytes, offset, `${name} start`);
  const required = (offset: number, name: string): number => {
    const value = start(offset, name);
    if (value === null) throw malformed(`the ${name} is missing`);
    return value;
  };
  const sb: SquashfsSuperblock = {
    inodeCount,
    modificationTime: u32(bytes, 8),
    blockSize,
    fragmentCount,
    compression,
    blockLog,
    flags,
    noFragments: (flags & FLAG_NO_FRAGMENTS) !== 0,
    idCount,
    versionMajor,
    versionMinor,
    rootInode,
    bytesUsed,
    idTableStart: required(48, 'id table'),
    xattrIdTableStart: start(56, 'xattr id table'),
    inodeTableStart: required(64, 'inode table'),
    directoryTableStart: required(72, 'directory table'),
    fragmentTableStart: start(80, 'fragment table'),
    exportTableStart: start(88, 'export table'),
  };
  if (sb.fragmentTableStart === null && fragmentCount > 0) {
    throw malformed(`the superblock declares ${fragmentCount} fragments but no fragment table`);
  }
  checkTableOrder(sb);
  return sb;
}

/**
 * The tables follow the data in a fixed order, each index right after its own metadata blocks.
 * Index positions must therefore be ordered, and each index must end before the next one starts
 * (the next table's blocks sit in between) and within bytes_used.
 */
function checkTableOrder(sb: SquashfsSuperblock): void {
  if (sb.inodeTableStart < SUPERBLOCK_SIZE) throw malformed(`the inode table starts at ${sb.inodeTableStart}, inside the superblock`);
  if (sb.directoryTableStart <= sb.inodeTableStart) {
    throw malformed(`the directory table (${sb.directoryTableStart}) does not start after the inode table (${sb.inodeTableStart})`);
  }
  const rootBlock = Number(sb.rootInode >> 16n);
  if (sb.inodeTableStart + rootBlock >= sb.directoryTableStart) {
    throw malformed(`the root inode's block ${rootBlock} lies outside the inode table`);
  }
  const tables: Array<{ name: string; start: number | null; size: number }> = [
    { name: 'directory table', start: sb.directoryTableStart, size: 0 },
    { name: 'fragment table', start: sb.fragmentTableStart, size: indexBytes(sb.fragmentCount, FRAGMENT_ENTRY_SIZE) },
    { name: 'export table', start: sb.exportTableStart, size: indexBytes(sb.inodeCount, EXPORT_ENTRY_SIZE) },
    { name: 'id table', start: sb.idTableStart, size: indexBytes(sb.idCount, ID_ENTRY_SIZE) },
    // The xattr id table's header is 16 bytes; its pointers are counted by mapSquashfs.
    { name: 'xattr id table', start: sb.xattrIdTableStart, size: 16 },
  ];
  let previous = tables[0]!;
  for (const table of tables.slice(1)) {
    if (table.start === null) continue;
    const previousEnd = previous.start! + previous.size;
    if (table.start < previousEnd) {
      throw malformed(`the ${table.name} (${table.start}) starts before the ${previous.name} ends (${previousEnd})`);
    }
    previous = table;
  }
  const end = previous.start! + previous.size;
  if (end > sb.bytesUsed) throw malformed(`the ${previous.name} ends at ${end}, beyond bytes_used ${sb.bytesUsed}`);
}
