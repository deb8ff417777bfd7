/**
 * Bounds that keep a hostile image from making the parser allocate or loop without end. The
 * format itself fixes the metadata ones; the walk ones are options with defaults far above any
 * real LXD image (a Debian or Ubuntu rootfs has tens of thousands of files, not millions).
 */

/** Uncompressed size of a metadata block (inodes, directories, tables); the format's constant. */
export const METADATA_BLOCK_SIZE = 8192;

/** The 2-byte header of a metadata block: size in the low 15 bits, this bit set = stored uncompressed. */
export const METADATA_UNCOMPRESSED = 0x8000;

/** In a data block or fragment size word: the block is stored uncompressed. */
export const DATA_UNCOMPRESSED = 1 << 24;

/** A directory header covers at most 256 entries (the format stores count - 1 in a u32). */
export const MAX_DIRECTORY_RUN = 256;

/** A name is at most 256 bytes (the format stores size - 1 in a u16, and mksquashfs caps it). */
export const MAX_NAME_LENGTH = 256;

/** Linux refuses longer symlink targets (PATH_MAX incl. the NUL), so a longer one is corruption. */
export const MAX_SYMLINK_LENGTH = 4096;

/** Directory nesting; the walk is iterative, this only bounds path lengths and catches deep loops. */
export const DEFAULT_MAX_DEPTH = 1024;

/** Directory entries (paths) over the whole tree. */
export const DEFAULT_MAX_ENTRIES = 4_000_000;

/** Data block entries over all files (sparse ones included): 8M is 8 TiB at 1 MiB blocks. */
export const DEFAULT_MAX_BLOCKS = 8_000_000;

/** Decoded metadata blocks kept per table; the walk is mostly sequential, so a small cache suffices. */
export const METADATA_CACHE_BLOCKS = 256;
