import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SmallDisk {
  readonly dir: string;
  /** Writes `name` until the file system refuses with ENOSPC; returns its path. */
  fill(name: string): string;
  unmount(): Promise<void>;
}

/**
 * A real, small file system (tmpfs of `bytes`) to run out of space on; undefined where this
 * process may not mount (not root), so the caller can skip.
 */
export async function mountSmallDisk(bytes: number): Promise<SmallDisk | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'lxchunk-small-disk-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
  } catch {
    await rmdir(dir);
    return undefined;
  }
  return {
    dir,
    fill(name) {
      const path = join(dir, name);
      const fd = openSync(path, 'a');
      try {
        // Page-sized writes, then single bytes: tmpfs allocates whole pages, so this leaves none.
        for (const size of [65536, 4096, 1]) {
          const block = Buffer.alloc(size, 0xa5);
          for (;;) {
            try {
              writeSync(fd, block);
            } catch (err) {
              if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
              throw err;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
      return path;
    },
    async unmount() {
      await run('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
