export { blockDecompressor, type BlockDecompressor } from './decompress.js';
export { compressedBlocks, type CompressedBlock } from './compressed-blocks.js';
export { mapSquashfs, type MapOptions } from './map-squashfs.js';
export { parseSuperblock, SUPERBLOCK_SIZE, type SquashfsCompression, type SquashfsSuperblock } from './superblock.js';
export type { ByteRange, ByteRangeKind, SquashfsBlock, SquashfsFile, SquashfsMap } from './squashfs-map.js';
export { squashfsSegments } from './squashfs-segments.js';
