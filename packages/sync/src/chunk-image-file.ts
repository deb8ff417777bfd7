import { chunkFile, type ChunkMethod, type ChunkedFile, type ScanOptions, type SegmentedLayout } from '@lxchunk/chunker';
import { isLxchunkError } from '@lxchunk/errors';
import { mapSquashfs, squashfsSegments, type SquashfsMap } from '@lxchunk/squashfs';

export interface ImageChunkOptions extends Omit<ScanOptions, 'layout'> {
  readonly method: ChunkMethod;
}

/** A file chunked by `method`, and for a squashfs its byte map (for advice about how it was built). */
export interface ChunkedImageFile extends ChunkedFile {
  readonly squashfs?: SquashfsMap;
}

/**
 * Chunks one image file by the given method. 'squashfs' maps the image first (tables only, a
 * fraction of a second) and cuts on its block boundaries; a file that is not a valid squashfs is
 * refused with InvalidInputError, as mapSquashfs reports it.
 */
export async function chunkImageFile(path: string, options: ImageChunkOptions): Promise<ChunkedImageFile> {
  const { method, ...scan } = options;
  if (method === 'cdc') return chunkFile(path, scan);
  const squashfs = await mapSquashfs(path);
  const layout: SegmentedLayout = { method, segments: squashfsSegments(squashfs) };
  return { ...(await chunkFile(path, { ...scan, layout })), squashfs };
}

/**
 * For seeds: the chunks of `path` cut by `method`, or undefined when the file cannot be cut that
 * way (a seed that is not a squashfs cannot share squashfs-cut chunks, and is no error).
 */
export async function chunkSeedFile(path: string, options: ImageChunkOptions): Promise<ChunkedFile | undefined> {
  try {
    return await chunkImageFile(path, options);
  } catch (err) {
    if (options.method !== 'cdc' && isLxchunkError(err, 'INVALID_INPUT')) return undefined;
    throw err;
  }
}
