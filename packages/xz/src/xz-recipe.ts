/**
 * How to rebuild one squashfs xz block from its content. Everything else about the encoder is
 * fixed by mksquashfs (preset 6's LZMA2 options, one block per stream) and pinned by this package:
 * see XZ_ENCODER.
 */
export interface XzRecipe {
  /** LZMA2 dictionary size in bytes; mksquashfs uses the block size unless `-Xdict-size` says otherwise. */
  dictSize: number;
  /** The branch/call/jump filter before LZMA2 (`mksquashfs -Xbcj`), or none. */
  filter: XzFilter;
  /** The stream's integrity check; mksquashfs always asks for CRC32. */
  check: 'crc32';
}

export type XzFilter = 'none' | 'x86' | 'powerpc' | 'ia64' | 'arm' | 'armthumb' | 'sparc';

/** xz filter ids (xz file format 1.1.0, section 5.4) of the BCJ filters mksquashfs offers. */
export const BCJ_FILTER_IDS: Readonly<Record<Exclude<XzFilter, 'none'>, number>> = {
  x86: 0x04,
  powerpc: 0x05,
  ia64: 0x06,
  arm: 0x07,
  armthumb: 0x08,
  sparc: 0x09,
};

export const LZMA2_FILTER_ID = 0x21;

/**
 * The encoder a recipe is valid for. A recipe says nothing about the LZMA2 parameters because
 * they are these; an index that stores recipes should store this id with them, so a later encoder
 * (another liblzma, other options) is never trusted with recipes it did not make.
 */
export const XZ_ENCODER = {
  id: 'liblzma-5.2.3/lzma2-preset6/stream-buffer',
  /** lzma_lzma_preset(6) spelled out: passing `preset` to lzma-native would reset dict_size. */
  lzma2: { lc: 3, lp: 0, pb: 2, mode: 'normal', niceLen: 64, mf: 'bt4', depth: 0 },
} as const;
