import { randomFillSync } from 'node:crypto';
import { open, rename, stat } from 'node:fs/promises';

/**
 * Makes sure `path` holds `size` random bytes (kept when it already has that size, so a cached
 * file is reused across runs and benchmarks). Random bytes behave like an xz-compressed squashfs:
 * no repeats, nothing compressible. Written to `<path>.tmp` and renamed, so an interrupted write
 * is never taken for a finished one. Bytes 510-511 are an MBR boot signature, so that `chunk
 * push` takes the file as a raw VM disk (it refuses files that are no disk).
 */
export async function ensureRandomFile(path: string, size: number): Promise<{ created: boolean }> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size === size) {
    await stampBootSignature(path); // a file cached before the signature was written
    return { created: false };
  }
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
  await stampBootSignature(`${path}.tmp`);
  await rename(`${path}.tmp`, path);
  return { created: true };
}

async function stampBootSignature(path: string): Promise<void> {
  const file = await open(path, 'r+');
  try {
    if ((await file.stat()).size >= 512) await file.write(Buffer.from([0x55, 0xaa]), 0, 2, 510);
  } finally {
    await file.close();
  }
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
