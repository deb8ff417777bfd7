import type { BlockDecompressor } from './decompress.js';
import type { ImageReader } from './image-reader.js';
import { METADATA_BLOCK_SIZE, METADATA_CACHE_BLOCKS, METADATA_UNCOMPRESSED } from './limits.js';
import { u16 } from './little-endian.js';
import { malformed } from './malformed.js';

/** A stretch of the image that one table occupies; every metadata block read must lie inside it. */
export interface Region {
  readonly name: string;
  readonly start: number;
  readonly end: number;
}

export interface MetadataBlock {
  /** The decoded bytes: 1..8192 of them. */
  readonly data: Uint8Array;
  /** Where the block lies on disk, header included: the next block starts at `position + size`. */
  readonly position: number;
  readonly size: number;
}

/**
 * The metadata blocks of one table. Inodes, directory listings and table entries are packed into
 * 8 KiB blocks, each compressed on its own behind a 2-byte header, and a structure may continue
 * from one block into the next one on disk. Decoded blocks are cached (bounded, least recently
 * used first out) because the walk revisits the same blocks for neighbouring inodes.
 */
export class MetadataTable {
  private readonly cache = new Map<number, MetadataBlock>();

  constructor(
    private readonly image: ImageReader,
    private readonly decompress: BlockDecompressor,
    readonly region: Region,
  ) {}

  async block(position: number): Promise<MetadataBlock> {
    const cached = this.cache.get(position);
    if (cached) {
      this.cache.delete(position);
      this.cache.set(position, cached);
      return cached;
    }
    const block = await this.load(position);
    if (this.cache.size >= METADATA_CACHE_BLOCKS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(position, block);
    return block;
  }

  /** The block's 2-byte header alone: its on-disk size, without decoding it. */
  async blockSize(position: number): Promise<number> {
    return (await this.header(position)).size;
  }

  private async header(position: number): Promise<{ size: number; compressed: boolean }> {
    const { name, start, end } = this.region;
    if (position < start || position + 2 > end) {
      throw malformed(`the ${name} metadata block at ${position} lies outside the ${name} (${start}..${end})`);
    }
    const word = u16(await this.image.read(position, 2, `${name} metadata block header`), 0);
    const stored = word & ~METADATA_UNCOMPRESSED;
    if (stored === 0 || stored > METADATA_BLOCK_SIZE) {
      throw malformed(`the ${name} metadata block at ${position} claims ${stored} bytes (must be 1..${METADATA_BLOCK_SIZE})`);
    }
    if (position + 2 + stored > end) {
      throw malformed(`the ${name} metadata block at ${position} (${stored} bytes) runs past the end of the ${name} (${end})`);
    }
    return { size: 2 + stored, compressed: (word & METADATA_UNCOMPRESSED) === 0 };
  }

  private async load(position: number): Promise<MetadataBlock> {
    const { size, compressed } = await this.header(position);
    const what = `the ${this.region.name} metadata block at ${position}`;
    const stored = await this.image.read(position + 2, size - 2, what);
    // Copy stored blocks: the read may be a view of the reader's window, which moves on.
    const data = compressed ? await this.decompress(stored, METADATA_BLOCK_SIZE, what) : stored.slice();
    if (data.length === 0) throw malformed(`${what} decodes to no bytes`);
    return { data, position, size };
  }

  /** Reads structures that start at `offset` in the block at `position` and may run on into the following blocks. */
  cursor(position: number, offset: number): MetadataCursor {
    return new MetadataCursor(this, position, offset);
  }
}

/**
 * Sequential reads through a table's decoded byte stream, starting from a metadata reference
 * (block position, offset in the decoded block) and crossing into following blocks as needed.
 */
export class MetadataCursor {
  private current: MetadataBlock | undefined;

  constructor(
    private readonly table: MetadataTable,
    private position: number,
    private offset: number,
  ) {
    if (!Number.isInteger(offset) || offset < 0 || offset >= METADATA_BLOCK_SIZE) {
      throw malformed(`offset ${offset} into a ${table.region.name} metadata block is out of range`);
    }
  }

  /** The block holding the next byte, moving on to the following block at a block's end. */
  private async ready(): Promise<MetadataBlock> {
    for (;;) {
      this.current ??= await this.table.block(this.position);
      if (this.offset < this.current.data.length) return this.current;
      if (this.offset > this.current.data.length) {
        throw malformed(
          `offset ${this.offset} lies beyond the ${this.current.data.length} bytes of the ${this.table.region.name} metadata block at ${this.position}`,
        );
      }
      this.position += this.current.size;
      this.offset = 0;
      this.current = undefined;
    }
  }

  /** The next `length` bytes (copied when they span blocks, a view of the cached block otherwise). */
  async bytes(length: number): Promise<Uint8Array> {
    const first = await this.ready();
    if (this.offset + length <= first.data.length) {
      const view = first.data.subarray(this.offset, this.offset + length);
      this.offset += length;
      return view;
    }
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const block = await this.ready();
      const take = Math.min(length - filled, block.data.length - this.offset);
      out.set(block.data.subarray(this.offset, this.offset + take), filled);
      this.offset += take;
      filled += take;
    }
    return out;
  }

  async skip(length: number): Promise<void> {
    let left = length;
    while (left > 0) {
      const block = await this.ready();
      const take = Math.min(left, block.data.length - this.offset);
      this.offset += take;
      left -= take;
    }
  }
}
