import { open } from 'node:fs/promises';
import { InvalidInputError } from '@lxchunk/errors';
import { compressedBlocks, mapSquashfs, type CompressedBlock } from '@lxchunk/squashfs';
import { decodeXzBlock } from './decode-xz-block.js';

export interface XzImageBlock {
  block: CompressedBlock;
  /** The block's bytes as stored in the image. */
  stored: Uint8Array;
  /** What it decompresses to; the stored bytes themselves for a block stored uncompressed. */
  content: Uint8Array;
}

/**
 * Reads every data, fragment and inode/directory metadata block of an xz squashfs image with its
 * decompressed content, in file order, one block in memory at a time. Refuses other compressors.
 */
export async function* imageXzBlocks(path: string): AsyncGenerator<XzImageBlock> {
  const map = await mapSquashfs(path);
  if (map.superblock.compression !== 'xz') throw new InvalidInputError(`${path} is compressed with ${map.superblock.compression}, not xz`);
  const file = await open(path, 'r');
  try {
    const read = async (offset: number, length: number): Promise<Uint8Array> => {
      const bytes = new Uint8Array(length);
      const { bytesRead } = await file.read(bytes, 0, length, offset);
      if (bytesRead !== length) throw new InvalidInputError(`${path}: ${length} bytes at ${offset} lie past the end of the file`);
      return bytes;
    };
    const blocks = await compressedBlocks(map, async (offset) => {
      const header = await read(offset, 2);
      return header[0]! | (header[1]! << 8);
    });
    for (const block of blocks) {
      const stored = await read(block.offset, block.length);
      const content = block.compressed ? await decodeXzBlock(stored, block.maxOutput, `${block.kind} block at ${block.offset}`) : stored;
      yield { block, stored, content };
    }
  } finally {
    await file.close();
  }
}
