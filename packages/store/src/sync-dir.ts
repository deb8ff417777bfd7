import { open } from 'node:fs/promises';

/**
 * Makes renames into `path` durable: a new directory entry is only on disk once the directory is
 * synced. `bestEffort` ignores a failing sync (some filesystems cannot fsync a directory; the
 * renames stand anyway), never a failing open.
 */
export async function syncDir(path: string, options: { bestEffort?: boolean } = {}): Promise<void> {
  const dir = await open(path, 'r');
  try {
    await (options.bestEffort ? dir.sync().catch(() => undefined) : dir.sync());
  } finally {
    await dir.close();
  }
}
