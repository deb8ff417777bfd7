import { open } from 'node:fs/promises';
import type { ChunkMethod } from '@lxchunk/chunker';

/**
 * 'squashfs' for a file that starts with squashfs' magic, else 'cdc': how push cuts a rootfs, so
 * estimates, seeds and inspection cut a file the same way. Any file is fine (a tarball is 'cdc').
 */
export async function chooseChunkMethod(path: string): Promise<ChunkMethod> {
  const file = await open(path, 'r');
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await file.read(head, 0, 4, 0);
    return bytesRead === 4 && head.toString('latin1') === 'hsqs' ? 'squashfs' : 'cdc';
  } finally {
    await file.close();
  }
}
