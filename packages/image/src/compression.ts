/** How a file's bytes are wrapped, as far as LXD image tarballs go. */
export type Compression = 'xz' | 'gzip' | 'zstd' | 'bzip2' | 'none';

/** Bytes detectCompression looks at: the longest magic (xz) is 6. */
export const COMPRESSION_MAGIC_BYTES = 6;

const MAGICS: readonly (readonly [Exclude<Compression, 'none'>, readonly number[]])[] = [
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]], // \xFD7zXZ\0
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]], // frame magic 0xFD2FB528, little-endian
  ['bzip2', [0x42, 0x5a, 0x68]], // "BZh"
];

/**
 * Names the compression from a file's first bytes (give at least COMPRESSION_MAGIC_BYTES).
 * Magic numbers, never file names: CI artifacts get renamed, and LXD itself ignores extensions.
 * Anything unrecognized is 'none'; whether it is really a tar is the tar reader's call.
 */
export function detectCompression(firstBytes: Uint8Array): Compression {
  for (const [name, magic] of MAGICS) {
    if (firstBytes.length >= magic.length && magic.every((b, i) => firstBytes[i] === b)) return name;
  }
  return 'none';
}
