import type { FileHandle } from 'node:fs/promises';
import { IoError } from '@lxchunk/errors';

/**
 * Writes all of `parts` at `position`. A write may be short without failing (a disk filling up
 * writes what fits and says how much): the rest is written again, which then fails with the
 * real cause (ENOSPC), instead of leaving a hole that only the final hash check would find.
 */
export async function writeFully(handle: FileHandle, parts: readonly Uint8Array[], position: number): Promise<void> {
  let pending = parts.filter((part) => part.length > 0);
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, position);
    if (bytesWritten === 0) throw new IoError('the file system accepted no bytes');
    position += bytesWritten;
    pending = dropWritten(pending, bytesWritten);
  }
}

function dropWritten(parts: readonly Uint8Array[], written: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const part of parts) {
    if (written >= part.length) {
      written -= part.length;
      continue;
    }
    rest.push(written > 0 ? part.subarray(written) : part);
    written = 0;
  }
  return rest;
}
