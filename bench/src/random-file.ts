import { randomFillSync } from 'node:crypto';
import { open, rename, stat } from 'node:fs/promises';

/**
 * Makes sure `path` holds `size` random bytes (kept when it already has that size, so a cached
 * file is reused across runs and benchmarks). Random bytes behave like an xz-compressed squashfs:
 * no repeats, nothing compressible. Written to `<path>.tmp` and renamed, so an interrupted write
 * is never taken for a finished one.
 */
export async function ensureRandomFile(path: string, size: number): Promise<{ created: boolean }> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size === size) return { created: false };
  const file = await open(`${path}.tmp`, 'w');
  try {
    const buffer = Buffer.allocUnsafe(16 * 1024 * 1024);
    for (let written = 0; written < size; written += buffer.length) {
      const n = Math.min(buffer.length, size - written);
      randomFillSync(buffer, 0, n);
      await file.write(buffer, 0, n);
    }
  } finally {
    await file.close();
  }
  await rename(`${path}.tmp`, path);
  return { created: true };
}

/** Reads a file once so the commands timed after it read from memory, not from the disk. */
export async function warmPageCache(path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(16 * 1024 * 1024);
    while ((await file.read(buffer, 0, buffer.length)).bytesRead > 0);
  } finally {
    await file.close();
  }
}
