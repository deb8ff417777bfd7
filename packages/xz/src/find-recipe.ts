import { crc32 } from './crc32.js';
import { encodeXzBlock } from './encode-xz-block.js';
import { parseXzBlockHeader } from './xz-container.js';
import type { XzRecipe } from './xz-recipe.js';

/**
 * The recipe that rebuilds `compressed` from `content` byte for byte, or undefined. The block's own
 * header names the only candidate mksquashfs could have used (its filter chain and dictionary;
 * the LZMA2 preset is fixed), so one trial encoding settles it. Cheap checks first: a header
 * mksquashfs would not write, a size or CRC32 that does not match the content, or a length other
 * than the container's rule gives, all mean no recipe without encoding anything.
 */
export function findRecipe(compressed: Uint8Array, content: Uint8Array): XzRecipe | undefined {
  const header = parseXzBlockHeader(compressed);
  if (!header || header.uncompressedSize !== content.length || content.length === 0) return undefined;
  if (!checkMatches(compressed, header.compressedSize, content)) return undefined;
  let rebuilt: Uint8Array;
  try {
    rebuilt = encodeXzBlock(content, header.recipe);
  } catch {
    // A recipe this encoder refuses (a dictionary out of range) cannot rebuild the block.
    return undefined;
  }
  return equalBytes(rebuilt, compressed) ? header.recipe : undefined;
}

/** The CRC32 stored after the padded payload must be the content's. */
function checkMatches(compressed: Uint8Array, compressedSize: number, content: Uint8Array): boolean {
  const at = 12 + (compressed[12]! + 1) * 4 + Math.ceil(compressedSize / 4) * 4;
  if (at + 4 > compressed.length) return false;
  const stored = new DataView(compressed.buffer, compressed.byteOffset + at, 4).getUint32(0, true);
  return stored === crc32(content);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
