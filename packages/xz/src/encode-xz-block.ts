import { InvalidInputError } from '@lxchunk/errors';
import { rawEncode } from './lzma-codec.js';
import { wrapXzBlock } from './xz-container.js';
import type { XzRecipe } from './xz-recipe.js';

/** The largest dictionary mksquashfs can ask for (its block size limit, 1 MiB) with room to spare. */
const MAX_DICT_SIZE = 64 * 1024 * 1024;

/**
 * Encodes `content` the way mksquashfs's xz compressor does with `recipe`: byte for byte the
 * output of liblzma's `lzma_stream_buffer_encode` (preset 6 with the recipe's dictionary and
 * filter, CRC32), built from a raw encoding plus the container written here.
 */
export function encodeXzBlock(content: Uint8Array, recipe: XzRecipe): Uint8Array {
  if (content.length === 0) throw new InvalidInputError('an xz block cannot be rebuilt from empty content');
  if (!Number.isInteger(recipe.dictSize) || recipe.dictSize < 4096 || recipe.dictSize > MAX_DICT_SIZE) {
    throw new InvalidInputError(`xz recipe dictionary size must be an integer in [4096, ${MAX_DICT_SIZE}], got ${recipe.dictSize}`);
  }
  if (recipe.check !== 'crc32') throw new InvalidInputError(`xz recipe check must be crc32, got ${String(recipe.check)}`);
  return wrapXzBlock(rawEncode(content, recipe.dictSize, recipe.filter), content, recipe);
}
