import { blockDecompressor } from '@lxchunk/squashfs';
import { InvalidInputError } from '@lxchunk/errors';
import { xzStreamDecode } from './lzma-codec.js';
import { parseXzBlockHeader } from './xz-container.js';

const decodePlain = blockDecompressor('xz');

/**
 * Decompresses a squashfs xz block into at most `maxOutput` bytes. Plain LZMA2 blocks go through
 * the squashfs package's decoder (xz-embedded, bounded, the kernel's); BCJ-filtered ones, which
 * xz-embedded as built there cannot read, through the pinned liblzma, after the block header has
 * shown the content fits `maxOutput` (liblzma then enforces that size). Throws InvalidInputError
 * naming `what`.
 */
export async function decodeXzBlock(compressed: Uint8Array, maxOutput: number, what: string): Promise<Uint8Array> {
  const header = parseXzBlockHeader(compressed);
  if (!header || header.recipe.filter === 'none') return decodePlain(compressed, maxOutput, what);
  if (header.uncompressedSize > maxOutput) {
    throw new InvalidInputError(`${what}: xz block claims ${header.uncompressedSize} bytes, more than ${maxOutput}`);
  }
  try {
    return xzStreamDecode(compressed, maxOutput);
  } catch (err) {
    throw new InvalidInputError(`${what}: ${(err as Error).message}`, { cause: err });
  }
}
