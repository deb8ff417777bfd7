import type { SquashfsSuperblock } from './superblock.js';

/**
 * What a stretch of the image holds. 'data' and 'fragment' are compressed file contents (a
 * chunker cuts on their boundaries); the others are squashfs' own tables. 'superblock' includes the
 * compressor options block when there is one; 'padding' is what follows bytes_used (mksquashfs
 * pads images to a multiple of 4 KiB).
 */
export type ByteRangeKind =
  | 'superblock'
  | 'data'
  | 'fragment'
  | 'inode-table'
  | 'directory-table'
  | 'fragment-table'
  | 'export-table'
  | 'id-table'
  | 'xattr'
  | 'padding';

export interface ByteRange {
  offset: number;
  length: number;
  kind: ByteRangeKind;
  /**
   * For a data block: the path of the (first) file whose block it is. Absent for data-area bytes
   * no inode references, which an image normally has none of.
   */
  file?: string;
  /**
   * For the inode and directory tables: the on-disk size (header included) of each of their
   * metadata blocks, in order, adding up to `length`. Absent when the blocks do not tile the range.
   */
  metadataBlocks?: number[];
}

export interface SquashfsBlock {
  /** Where the block lies in the image. */
  offset: number;
  /** Its size on disk; 0 for a sparse block (a whole block of zeros, stored as nothing). */
  length: number;
  /** Whether it must be decompressed; false for sparse and stored-uncompressed blocks. */
  compressed: boolean;
}

export interface SquashfsFile {
  /** Absolute path inside the image, e.g. "/etc/passwd". */
  path: string;
  size: number;
  /** One per block of the file, in order: block i holds bytes [i * blockSize, (i + 1) * blockSize). */
  blocks: SquashfsBlock[];
  /** Where the file's tail lies when it is packed into a fragment block: its `size` bytes at `offset` of the decompressed fragment block `index`. */
  fragment?: { index: number; offset: number; size: number };
}

export interface SquashfsMap {
  superblock: SquashfsSuperblock;
  /** The file's length, padding included. */
  fileSize: number;
  /** Sorted, not overlapping, covering [0, fileSize): [0, bytesUsed) is the image, the rest 'padding'. */
  ranges: ByteRange[];
  /** Regular files, hard links included (each path once); parents' files before their subdirectories'. */
  files: SquashfsFile[];
  /** Fragment blocks by index, as the fragment table lists them. */
  fragments: Array<{ offset: number; length: number; compressed: boolean }>;
}
