import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DataDirLockedError } from '@lxchunk/errors';

/** Beside metadata.db; holds no data. (Not `server.lock`: that name was proper-lockfile's directory.) */
export const LOCK_FILE = 'data-dir.lock';

/**
 * Exclusive hold on a data directory that the kernel releases when the holder dies, so a server
 * killed with SIGKILL restarts at once. It is an SQLite file kept in an exclusive transaction:
 * SQLite's locks are POSIX fcntl locks, which die with the process (and better-sqlite3 is already
 * here: no native dependency of our own). Deleting the file while it is held would let a second
 * holder in, so it must be left alone.
 */
export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  /** DATA_DIR_LOCKED at once (no waiting) when another process, or another open in this one, holds it. */
  static acquire(dir: string): DataDirLock {
    const path = join(dir, LOCK_FILE);
    // No busy wait: a held lock is an answer, not contention to ride out.
    const db = new Database(path, { timeout: 0 });
    try {
      // Nothing is ever written: no journal file beside it either (OFF is refused in defensive mode).
      db.pragma('journal_mode = MEMORY');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') throw new DataDirLockedError(dir, { cause: err });
      throw err;
    }
    // chmod, not open(mode): opening and closing another descriptor of the file would drop our fcntl lock.
    chmodSync(path, 0o600);
    return new DataDirLock(db);
  }

  /** Idempotent. */
  release(): void {
    if (this.db.open) this.db.close();
  }
}
