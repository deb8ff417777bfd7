import type { SquashfsMap } from './squashfs-map.js';

/**
 * The image cut into its independent units, as lengths in file order: every data and fragment
 * block, every metadata block of the inode and directory tables, and each other range whole.
 * A segmenting chunker cuts only on these boundaries, so a unit that did not change keeps its
 * chunks wherever it moved. Sparse blocks take no bytes and do not appear.
 */
export function squashfsSegments(map: SquashfsMap): number[] {
  const lengths: number[] = [];
  for (const range of map.ranges) {
    if (range.metadataBlocks) lengths.push(...range.metadataBlocks);
    else lengths.push(range.length);
  }
  return lengths;
}
