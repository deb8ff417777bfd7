import type { BlockDecompressor } from './decompress.js';
import type { ImageReader } from './image-reader.js';
import { METADATA_BLOCK_SIZE } from './limits.js';
import { u64Number } from './little-endian.js';
import { malformed } from './malformed.js';
import { MetadataTable } from './metadata-table.js';

/**
 * The fragment, export, id and xattr id tables share one layout: fixed-size entries packed into
 * 8 KiB metadata blocks, followed by an index of u64 pointers to those blocks; the superblock
 * points at the index. This locates such a table (where its first block starts, where its index
 * ends) and decodes its entries on demand.
 */
export class IndexedTable {
  private constructor(
    readonly name: string,
    /** Block positions from the index, in order; the first is where the table's bytes begin. */
    readonly pointers: readonly number[],
    readonly indexStart: number,
    private readonly blocks: MetadataTable,
  ) {}

  /** Where the table's bytes begin: its first metadata block, or its (empty) index. */
  get start(): number {
    return this.pointers[0] ?? this.indexStart;
  }

  get indexEnd(): number {
    return this.indexStart + this.pointers.length * 8;
  }

  /**
   * Reads the index of a table of `entryCount` entries of `entrySize` bytes and checks each block
   * it points to: in order, not overlapping, after `lowerBound` (the end of the previous table)
   * and before the index. Only block headers are read here, so locating costs a few reads.
   */
  static async locate(
    image: ImageReader,
    decompress: BlockDecompressor,
    name: string,
    indexStart: number,
    entryCount: number,
    entrySize: number,
    lowerBound: number,
  ): Promise<IndexedTable> {
    const blockCount = Math.ceil((entryCount * entrySize) / METADATA_BLOCK_SIZE);
    if (indexStart < lowerBound) throw malformed(`the ${name} index (${indexStart}) lies before the previous table ends (${lowerBound})`);
    // Each block takes at least 3 bytes before the index: a count that cannot fit is refused
    // before its index is read, however large the declared count.
    if (blockCount * 3 > indexStart - lowerBound) {
      throw malformed(`the ${name} declares ${entryCount} entries, more than fit before its index at ${indexStart}`);
    }
    const index = blockCount === 0 ? new Uint8Array(0) : (await image.read(indexStart, blockCount * 8, `the ${name} index`)).slice();
    const blocks = new MetadataTable(image, decompress, { name, start: lowerBound, end: indexStart });
    const pointers: number[] = [];
    let next = lowerBound;
    for (let i = 0; i < blockCount; i++) {
      const pointer = u64Number(index, i * 8, `${name} index entry ${i}`);
      if (pointer < next) {
        throw malformed(`${name} block ${i} at ${pointer} overlaps the ${i === 0 ? 'previous table' : 'block before it'} (which ends at ${next})`);
      }
      next = pointer + (await blocks.blockSize(pointer)); // also checks it ends before the index
      pointers.push(pointer);
    }
    return new IndexedTable(name, pointers, indexStart, blocks);
  }

  /**
   * Calls `visit` with each decoded block and the index of its first entry. Every block but the
   * last holds exactly 8 KiB (readers find entry n at block n*size/8192), the last the remainder.
   */
  async forEachBlock(entryCount: number, entrySize: number, visit: (data: Uint8Array, firstEntry: number) => void): Promise<void> {
    const perBlock = METADATA_BLOCK_SIZE / entrySize;
    for (let i = 0; i < this.pointers.length; i++) {
      const { data } = await this.blocks.block(this.pointers[i]!);
      const entries = Math.min(perBlock, entryCount - i * perBlock);
      if (data.length !== entries * entrySize) {
        throw malformed(`${this.name} block ${i} at ${this.pointers[i]} holds ${data.length} bytes, expected ${entries * entrySize}`);
      }
      visit(data, i * perBlock);
    }
  }
}
