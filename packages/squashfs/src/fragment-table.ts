import type { IndexedTable } from './indexed-table.js';
import { DATA_UNCOMPRESSED, METADATA_BLOCK_SIZE } from './limits.js';
import { u32, u64Number } from './little-endian.js';
import { malformed } from './malformed.js';
import { FRAGMENT_ENTRY_SIZE } from './superblock.js';

export interface FragmentBlock {
  offset: number;
  length: number;
  compressed: boolean;
}

const PER_BLOCK = METADATA_BLOCK_SIZE / FRAGMENT_ENTRY_SIZE;

/**
 * The fragment table: where each fragment block (the tails of small files packed together and
 * compressed as one block) lies. Entries are kept in typed arrays, 12 bytes a fragment, allocated
 * one metadata block at a time as blocks decode: memory follows what the image really holds, not
 * the count its superblock declares.
 */
export class FragmentTable {
  private constructor(
    readonly count: number,
    private readonly starts: Float64Array[],
    private readonly words: Uint32Array[],
  ) {}

  get(index: number): FragmentBlock {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) throw malformed(`fragment ${index} does not exist (${this.count} fragments)`);
    const block = Math.floor(index / PER_BLOCK);
    const word = this.words[block]![index % PER_BLOCK]!;
    return { offset: this.starts[block]![index % PER_BLOCK]!, length: word & (DATA_UNCOMPRESSED - 1), compressed: (word & DATA_UNCOMPRESSED) === 0 };
  }

  /**
   * Decodes `count` entries (u64 start, u32 size word, u32 unused) and checks each block lies in
   * the data area [dataStart, dataEnd) and is no larger than a block.
   */
  static async read(table: IndexedTable | null, count: number, blockSize: number, dataStart: number, dataEnd: number): Promise<FragmentTable> {
    const starts: Float64Array[] = [];
    const words: Uint32Array[] = [];
    if (table) {
      await table.forEachBlock(count, FRAGMENT_ENTRY_SIZE, (data, first) => {
        const entries = data.length / FRAGMENT_ENTRY_SIZE;
        const blockStarts = new Float64Array(entries);
        const blockWords = new Uint32Array(entries);
        for (let i = 0; i < entries; i++) {
          const at = i * FRAGMENT_ENTRY_SIZE;
          const start = u64Number(data, at, `fragment ${first + i} start`);
          const word = u32(data, at + 8);
          const length = word & (DATA_UNCOMPRESSED - 1);
          if (word >>> 25 !== 0) throw malformed(`fragment ${first + i} has an invalid size word 0x${word.toString(16)}`);
          if (length === 0 || length > blockSize) throw malformed(`fragment ${first + i} is ${length} bytes long (must be 1..${blockSize})`);
          if (start < dataStart || start + length > dataEnd) {
            throw malformed(`fragment ${first + i} at ${start} (${length} bytes) lies outside the data area ${dataStart}..${dataEnd}`);
          }
          blockStarts[i] = start;
          blockWords[i] = word;
        }
        starts.push(blockStarts);
        words.push(blockWords);
      });
    }
    if (starts.length * PER_BLOCK < count && count > 0) throw malformed(`the fragment table holds fewer than its ${count} fragments`);
    return new FragmentTable(count, starts, words);
  }
}
