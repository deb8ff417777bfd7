import { defaultParamsFor, type ChunkedFile, type ScanOptions } from '@lxchunk/chunker';
import { chooseChunkMethod, chunkImageFile } from '@lxchunk/sync';

/** Chunks a file the way `chunk push` does (squashfs-aware for a squashfs), to know its chunk ids. */
export async function chunkLikePush(path: string, options: Omit<ScanOptions, 'layout'> = {}): Promise<ChunkedFile> {
  const method = await chooseChunkMethod(path);
  return chunkImageFile(path, { params: defaultParamsFor(method), ...options, method });
}
