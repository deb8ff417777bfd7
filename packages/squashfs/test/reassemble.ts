import type { FileHandle } from 'node:fs/promises';
import { blockDecompressor } from '../src/decompress.js';
import type { SquashfsFile, SquashfsMap } from '../src/index.js';

/**
 * Rebuilds a file's bytes from the map alone: its blocks in order (decompressed, or zeros when
 * sparse) and then its tail from the fragment block. Matching the tree on disk byte for byte proves
 * the block map (offsets, lengths, flags, fragment index and offset) is right.
 */
export class Reassembler {
  private readonly decompress;
  private readonly fragmentCache = new Map<number, Uint8Array>();

  constructor(
    private readonly image: FileHandle,
    private readonly map: SquashfsMap,
  ) {
    this.decompress = blockDecompressor(map.superblock.compression);
  }

  async file(file: SquashfsFile): Promise<Uint8Array> {
    const { blockSize } = this.map.superblock;
    const out = new Uint8Array(file.size);
    let at = 0;
    for (const [i, block] of file.blocks.entries()) {
      const holds = Math.min(blockSize, file.size - i * blockSize);
      if (block.length > 0) {
        const bytes = await this.decoded(block.offset, block.length, block.compressed, `${file.path} block ${i}`);
        if (bytes.length !== holds) throw new Error(`${file.path} block ${i} decodes to ${bytes.length} bytes, expected ${holds}`);
        out.set(bytes, at);
      } // sparse: out is already zeros
      at += holds;
    }
    if (file.fragment) {
      const fragment = await this.fragment(file.fragment.index);
      out.set(fragment.subarray(file.fragment.offset, file.fragment.offset + file.fragment.size), at);
      at += file.fragment.size;
    }
    if (at !== file.size) throw new Error(`${file.path}: blocks and fragment cover ${at} bytes of ${file.size}`);
    return out;
  }

  private async fragment(index: number): Promise<Uint8Array> {
    let bytes = this.fragmentCache.get(index);
    if (!bytes) {
      const block = this.map.fragments[index]!;
      bytes = await this.decoded(block.offset, block.length, block.compressed, `fragment ${index}`);
      this.fragmentCache.set(index, bytes);
    }
    return bytes;
  }

  private async decoded(offset: number, length: number, compressed: boolean, what: string): Promise<Uint8Array> {
    const stored = new Uint8Array(length);
    await this.image.read(stored, 0, length, offset);
    return compressed ? this.decompress(stored, this.map.superblock.blockSize, what) : stored;
  }
}
