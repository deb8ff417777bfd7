import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirLockedError } from '@lxchunk/errors';
import { ExclusiveFileLock, FsChunkStore, PRIVATE_DIR, PRIVATE_DIR_MODE, type FsChunkStoreOptions } from '@lxchunk/store';
import { MetadataDb } from './db/metadata-db.js';

/** A server's (or offline gc's) exclusive hold on a data directory: its chunks and its metadata. */
export interface DataDir {
  readonly dir: string;
  readonly store: FsChunkStore;
  readonly db: MetadataDb;
  close(): Promise<void>;
}

export const METADATA_FILE = 'metadata.db';
/** Beside metadata.db; holds no data. (Not `server.lock`: that name was proper-lockfile's directory.) */
export const LOCK_FILE = 'data-dir.lock';

/**
 * Opens DIR (creating it on first start) and locks it: a second server or an offline gc on the
 * same directory is refused with DATA_DIR_LOCKED. The lock dies with its holder (ExclusiveFileLock),
 * so a crashed server's directory can be opened again at once, with no cleanup.
 */
export interface DataDirOptions {
  readonly fsync: boolean;
  readonly onQuarantine?: FsChunkStoreOptions['onQuarantine'];
}

export async function openDataDir(dir: string, options: DataDirOptions): Promise<DataDir> {
  // Private whatever the umask: it holds private images' chunks and token hashes.
  if ((await mkdir(dir, PRIVATE_DIR)) !== undefined) await chmod(dir, PRIVATE_DIR_MODE);
  const lock = ExclusiveFileLock.tryAcquire(join(dir, LOCK_FILE));
  if (!lock) throw new DataDirLockedError(dir);
  try {
    const store = await FsChunkStore.open({ dir, fsync: options.fsync, onQuarantine: options.onQuarantine });
    // We hold the lock, so no other writer exists: every temp file is a dead writer's.
    await store.cleanTemp(0);
    const db = MetadataDb.open(join(dir, METADATA_FILE));
    return {
      dir,
      store,
      db,
      async close() {
        db.close();
        lock.release();
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}
