import { METADATA_BLOCK_SIZE, METADATA_UNCOMPRESSED } from './limits.js';
import type { SquashfsMap } from './squashfs-map.js';

/** One independently compressed unit of an image: what a block-level re-encoder works on. */
export interface CompressedBlock {
  kind: 'data' | 'fragment' | 'inode-table' | 'directory-table';
  /** Where the block's own bytes start (after a metadata block's 2-byte header). */
  offset: number;
  length: number;
  /** False for a block mksquashfs stored uncompressed because compressing did not make it smaller. */
  compressed: boolean;
  /** What it decompresses to at most: the block size, or 8 KiB for metadata. */
  maxOutput: number;
}

/**
 * Every data, fragment and inode/directory metadata block of a mapped image, in file order, each
 * once (duplicate files and hard links share blocks); sparse blocks have no bytes and are left
 * out. `readHeader` reads a metadata block's 2-byte header, whose top bit says whether it is
 * stored uncompressed. The other tables (fragment, id, export, xattr) are left whole: they are a
 * few metadata blocks per image.
 */
export async function compressedBlocks(map: SquashfsMap, readHeader: (offset: number) => Promise<number>): Promise<CompressedBlock[]> {
  const blockSize = map.superblock.blockSize;
  const byOffset = new Map<number, CompressedBlock>();
  for (const file of map.files) {
    for (const b of file.blocks) if (b.length > 0) byOffset.set(b.offset, { kind: 'data', offset: b.offset, length: b.length, compressed: b.compressed, maxOutput: blockSize });
  }
  for (const f of map.fragments) byOffset.set(f.offset, { kind: 'fragment', offset: f.offset, length: f.length, compressed: f.compressed, maxOutput: blockSize });
  for (const range of map.ranges) {
    if ((range.kind !== 'inode-table' && range.kind !== 'directory-table') || !range.metadataBlocks) continue;
    let at = range.offset;
    for (const size of range.metadataBlocks) {
      const word = await readHeader(at);
      byOffset.set(at + 2, { kind: range.kind, offset: at + 2, length: size - 2, compressed: (word & METADATA_UNCOMPRESSED) === 0, maxOutput: METADATA_BLOCK_SIZE });
      at += size;
    }
  }
  return [...byOffset.values()].sort((a, b) => a.offset - b.offset);
}
