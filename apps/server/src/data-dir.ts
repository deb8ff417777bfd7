import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { DataDirLockedError } from '@lxchunk/errors';
import { FsChunkStore, type FsChunkStoreOptions } from '@lxchunk/store';
import { MetadataDb } from './db/metadata-db.js';

/** A server's (or offline gc's) exclusive hold on a data directory: its chunks and its metadata. */
export interface DataDir {
  readonly dir: string;
  readonly store: FsChunkStore;
  readonly db: MetadataDb;
  close(): Promise<void>;
}

export const METADATA_FILE = 'metadata.db';

/**
 * Opens DIR (creating it on first start) and locks it: a second server or an offline gc on the
 * same directory is refused with DATA_DIR_LOCKED. The lock is a directory proper-lockfile keeps
 * fresh, so a crashed holder's lock goes stale by itself and never needs manual cleanup.
 */
export interface DataDirOptions {
  readonly fsync: boolean;
  readonly onLockLost?: (err: Error) => void;
  readonly onQuarantine?: FsChunkStoreOptions['onQuarantine'];
}

export async function openDataDir(dir: string, options: DataDirOptions): Promise<DataDir> {
  await mkdir(dir, { recursive: true });
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(dir, {
      lockfilePath: join(dir, 'server.lock'),
      stale: 15_000,
      update: 5_000,
      retries: 0,
      realpath: false,
      onCompromised: options.onLockLost ?? ((err) => { throw err; }),
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirLockedError(dir, { cause: err });
    throw err;
  }
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
        await release();
      },
    };
  } catch (err) {
    await release();
    throw err;
  }
}
