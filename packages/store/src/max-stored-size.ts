import zstdBinding from 'zstd-napi/binding.js';
import { MAX_CHUNK_SIZE, type ChunkEncoding } from '@lxchunk/format';

/**
 * The most bytes a valid stored chunk can take in `encoding`: a stored copy beyond it is corrupt,
 * refused before it is read (a damaged or hostile object could be gigabytes).
 */
export function maxStoredSize(encoding: ChunkEncoding): number {
  return encoding === 'zstd' ? zstdBinding.compressBound(MAX_CHUNK_SIZE) : MAX_CHUNK_SIZE;
}
