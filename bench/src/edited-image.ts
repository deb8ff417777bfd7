import { randomFillSync } from 'node:crypto';
import { chunkId, type ChunkParams } from '@lxchunk/chunker';
import { seededUnit } from './cdc-like-sizes.js';
import { assembleImage, type ImageChunk, type RandomImage } from './random-image.js';

export interface EditedImage {
  readonly image: RandomImage;
  /** The rootfs chunks `image` has and its base has not (the edited ones), in file order. */
  readonly edited: readonly ImageChunk[];
}

/** Bytes overwritten by each of an edited chunk's two in-place edits. */
const OVERWRITE_BYTES = 32;
/** Bytes inserted by its third edit: lengths shift, as a real edit shifts them. */
const INSERT_BYTES = 16;

/**
 * The next version of `base` (whose chunks must still hold their bytes): each rootfs chunk is
 * edited with probability 1/`every` (seeded), by two 32-byte overwrites and one 16-byte
 * insertion (none in a chunk at the maximum length) at random places, the rest kept as they are; the same metadata file. Small edits
 * spread through the image: what a delta against the chunk it replaced is made for.
 */
export function editedImage(base: RandomImage, params: ChunkParams, every: number, seed = 1): EditedImage {
  const random = seededUnit(seed);
  const at = (length: number) => Math.floor(random() * length);
  const edited: ImageChunk[] = [];
  const rootfs = base.rootfs.map((chunk) => {
    if (random() * every >= 1) return chunk;
    const old = chunk.bytes!;
    // No insertion into a chunk at the maximum length: an index holds no longer chunk.
    const insert = old.length + INSERT_BYTES <= params.max ? INSERT_BYTES : 0;
    const insertAt = at(old.length);
    const bytes = Buffer.concat([old.subarray(0, insertAt), randomFillSync(Buffer.allocUnsafe(insert)), old.subarray(insertAt)]);
    for (let i = 0; i < 2; i++) randomFillSync(bytes, at(bytes.length - OVERWRITE_BYTES), OVERWRITE_BYTES);
    const next: ImageChunk = { id: chunkId(bytes), length: bytes.length, bytes };
    edited.push(next);
    return next;
  });
  const image = assembleImage(base.metadata, rootfs, params, `edited copy of ${base.fingerprint.slice(0, 12)}: 1 chunk in ${every} changed`);
  return { image, edited };
}
