import { lzmaNative } from './lzma-native-binding.js';

/** CRC32 as xz uses it (the zlib polynomial), from the pinned liblzma rather than Node's zlib (20.15+ only). */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return lzmaNative().crc32(bytes, undefined, previous) >>> 0;
}
