import { InvalidInputError } from '@lxchunk/errors';
import { MAX_SYMLINK_LENGTH, METADATA_BLOCK_SIZE } from './limits.js';
import { u16, u32, u64Number } from './little-endian.js';
import { malformed } from './malformed.js';
import type { MetadataTable } from './metadata-table.js';
import type { SquashfsSuperblock } from './superblock.js';

/** Where an inode lies: a metadata block (relative to the inode table's start) and an offset in its decoded bytes. */
export interface InodeRef {
  readonly block: number;
  readonly offset: number;
}

/** One number per reference, for sets and maps (blocks are < 2^32, offsets < 2^13). */
export function refKey(ref: InodeRef): number {
  return ref.block * METADATA_BLOCK_SIZE + ref.offset;
}

export function describeRef(ref: InodeRef): string {
  return `${ref.block}:${ref.offset}`;
}

/** Basic inode types; an extended inode's type is its basic type + 7. */
export const InodeType = { directory: 1, file: 2, symlink: 3, blockDevice: 4, charDevice: 5, fifo: 6, socket: 7 } as const;
const EXTENDED = 7;

/** A fragment index of all ones: the file has no tail in a fragment. */
const NO_FRAGMENT = 0xffff_ffff;

interface InodeCommon {
  /** The stored type, 1..14. */
  readonly type: number;
  /** 1..7 whether the inode is basic or extended: what directory entries record. */
  readonly basicType: number;
  readonly number: number;
  readonly linkCount: number;
}

export interface DirectoryInode extends InodeCommon {
  readonly kind: 'directory';
  /** The listing's metadata block, relative to the directory table's start. */
  readonly listingBlock: number;
  readonly listingOffset: number;
  /** Bytes of listing (the stored size counts 3 more, for "." and ".."). */
  readonly listingSize: number;
}

export interface FileInode extends InodeCommon {
  readonly kind: 'file';
  readonly size: number;
  readonly blocksStart: number;
  /** Size words of the file's full blocks (and its last block when it has no fragment). */
  readonly blockWords: Uint32Array;
  readonly fragment: { readonly index: number; readonly offset: number } | null;
}

export interface OtherInode extends InodeCommon {
  readonly kind: 'symlink' | 'device' | 'ipc';
}

export type Inode = DirectoryInode | FileInode | OtherInode;

/** Counts what the walk may still allocate, shared over all inodes of one image. */
export interface BlockBudget {
  remaining: number;
  readonly limit: number;
}

/**
 * Reads the inode at `ref`. The 16-byte common header is followed by a type-specific body; file
 * inodes end with one size word per data block. Only what the byte map needs is kept, but the
 * whole inode is read, so an inode cut off by the end of the inode table is reported.
 */
export async function readInode(table: MetadataTable, ref: InodeRef, sb: SquashfsSuperblock, budget: BlockBudget): Promise<Inode> {
  const at = `inode ${describeRef(ref)}`;
  const position = table.region.start + ref.block;
  if (position >= table.region.end) throw malformed(`${at} points past the end of the inode table`);
  const cursor = table.cursor(position, ref.offset);
  const header = await cursor.bytes(16);
  const type = u16(header, 0);
  if (type < 1 || type > 14) throw malformed(`${at} has unknown type ${type}`);
  const basicType = type > EXTENDED ? type - EXTENDED : type;
  const extended = type > EXTENDED;
  const uidIndex = u16(header, 4);
  const gidIndex = u16(header, 6);
  if (uidIndex >= sb.idCount || gidIndex >= sb.idCount) {
    throw malformed(`${at} has owner ids ${uidIndex}/${gidIndex}, the id table has ${sb.idCount}`);
  }
  const number = u32(header, 12);
  if (number < 1 || number > sb.inodeCount) throw malformed(`${at} has inode number ${number}, outside 1..${sb.inodeCount}`);

  switch (basicType) {
    case InodeType.directory: {
      // basic: block u32, nlink u32, size u16, offset u16, parent u32
      // extended: nlink u32, size u32, block u32, parent u32, index count u16, offset u16, xattr u32
      const body = await cursor.bytes(extended ? 24 : 16);
      const linkCount = u32(body, extended ? 0 : 4);
      const storedSize = extended ? u32(body, 4) : u16(body, 8);
      const listingBlock = u32(body, extended ? 8 : 0);
      const listingOffset = u16(body, extended ? 18 : 10);
      if (storedSize < 3) throw malformed(`${at}: a directory size of ${storedSize} is below the minimum of 3`);
      if (listingOffset >= METADATA_BLOCK_SIZE) throw malformed(`${at}: listing offset ${listingOffset} is beyond a metadata block`);
      return { kind: 'directory', type, basicType, number, linkCount, listingBlock, listingOffset, listingSize: storedSize - 3 };
    }
    case InodeType.file: {
      // basic: blocks start u32, fragment u32, fragment offset u32, size u32
      // extended: blocks start u64, size u64, sparse u64, nlink u32, fragment u32, fragment offset u32, xattr u32
      const body = await cursor.bytes(extended ? 40 : 16);
      const blocksStart = extended ? u64Number(body, 0, `${at} blocks start`) : u32(body, 0);
      const size = extended ? u64Number(body, 8, `${at} file size`) : u32(body, 12);
      const linkCount = extended ? u32(body, 24) : 1;
      const fragmentIndex = u32(body, extended ? 28 : 4);
      const fragmentOffset = u32(body, extended ? 32 : 8);
      const hasFragment = fragmentIndex !== NO_FRAGMENT;
      if (hasFragment && fragmentIndex >= sb.fragmentCount) {
        throw malformed(`${at} uses fragment ${fragmentIndex}, the image has ${sb.fragmentCount}`);
      }
      // The tail that does not fill a block goes to a fragment, or else takes a (short) block of its own.
      const count = hasFragment ? Math.floor(size / sb.blockSize) : Math.ceil(size / sb.blockSize);
      if (count > budget.remaining) {
        throw new InvalidInputError(`squashfs image has more than ${budget.limit} data blocks (${at} alone has ${count})`);
      }
      budget.remaining -= count;
      const blockWords = new Uint32Array(count);
      for (let done = 0; done < count; ) {
        const take = Math.min(count - done, 2048);
        const bytes = await cursor.bytes(take * 4);
        for (let i = 0; i < take; i++) blockWords[done + i] = u32(bytes, i * 4);
        done += take;
      }
      const fragment = hasFragment ? { index: fragmentIndex, offset: fragmentOffset } : null;
      return { kind: 'file', type, basicType, number, linkCount, size, blocksStart, blockWords, fragment };
    }
    case InodeType.symlink: {
      // nlink u32, target size u32, target bytes (extended: then xattr u32)
      const body = await cursor.bytes(8);
      const targetSize = u32(body, 4);
      if (targetSize > MAX_SYMLINK_LENGTH) throw malformed(`${at}: a symlink target of ${targetSize} bytes exceeds ${MAX_SYMLINK_LENGTH}`);
      await cursor.skip(targetSize + (extended ? 4 : 0));
      return { kind: 'symlink', type, basicType, number, linkCount: u32(body, 0) };
    }
    case InodeType.blockDevice:
    case InodeType.charDevice: {
      // nlink u32, device u32 (extended: then xattr u32)
      const body = await cursor.bytes(extended ? 12 : 8);
      return { kind: 'device', type, basicType, number, linkCount: u32(body, 0) };
    }
    default: {
      // fifo, socket: nlink u32 (extended: then xattr u32)
      const body = await cursor.bytes(extended ? 8 : 4);
      return { kind: 'ipc', type, basicType, number, linkCount: u32(body, 0) };
    }
  }
}
