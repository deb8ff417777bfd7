import { InvalidInputError } from '@lxchunk/errors';
import { IMAGE_TYPES } from '@lxchunk/format';
import { toBlob } from './blob-ids.js';
import type { NewImage } from './image-repo.js';

/** A NewImage checked and converted for storage. */
export interface ValidNewImage {
  fingerprint: Buffer;
  manifest: Buffer;
  /** Distinct chunk ids in ascending order, so the inserts append to the (image_id, chunk_id) key. */
  chunks: Buffer[];
}

/** Throws InvalidIdError / InvalidInputError for anything a push must not store. */
export function validateNewImage(image: NewImage): ValidNewImage {
  const fingerprint = toBlob(image.fingerprint, 'fingerprint');
  if (!(image.manifest instanceof Uint8Array)) throw new InvalidInputError('image manifest must be bytes');
  if (!IMAGE_TYPES.includes(image.type)) {
    throw new InvalidInputError(`image type must be container or virtual-machine, got ${String(image.type)}`);
  }
  if (typeof image.architecture !== 'string') throw new InvalidInputError('image architecture must be a string');
  if (typeof image.created !== 'string') throw new InvalidInputError('image created must be a string');
  if (typeof image.public !== 'boolean') throw new InvalidInputError('image public must be a boolean');
  if (!Number.isSafeInteger(image.size) || image.size < 0) {
    throw new InvalidInputError(`image size must be a non-negative integer, got ${image.size}`);
  }
  const props = image.properties as unknown;
  if (typeof props !== 'object' || props === null || Array.isArray(props)) {
    throw new InvalidInputError('image properties must be an object');
  }
  for (const [key, value] of Object.entries(props)) {
    if (typeof value !== 'string') throw new InvalidInputError(`image property ${JSON.stringify(key)} must be a string`);
  }
  if (!Array.isArray(image.chunkIds)) throw new InvalidInputError('image chunkIds must be an array');
  const chunks = [...new Set(image.chunkIds)].sort().map((id) => toBlob(id, 'chunk id'));
  const manifest = Buffer.from(image.manifest.buffer, image.manifest.byteOffset, image.manifest.byteLength);
  return { fingerprint, manifest, chunks };
}
