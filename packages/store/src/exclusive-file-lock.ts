import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';
import { PRIVATE_FILE_MODE } from './private-mode.js';

/**
 * An exclusive hold on a file that the kernel releases when the holder dies, however it dies: a
 * process killed with SIGKILL leaves no stale lock to time out or clean up. The file is an SQLite
 * database kept in an exclusive transaction: SQLite's locks are POSIX fcntl locks, which die with
 * the process, and SQLite keeps them right where a second descriptor of the file, opened and closed
 * in the same process, would drop a bare fcntl lock. Deleting the file while it is held would let
 * a second holder in, so it must be left alone.
 */
export class ExclusiveFileLock {
  /**
   * Every lock held, until released: better-sqlite3 closes a database its garbage collector
   * finds unreachable, which would drop the lock under a holder that kept no reference to it
   * (seen: a test's child process lost its lock to a GC under load).
   */
  private static readonly held = new Set<Database.Database>();

  private constructor(private readonly db: Database.Database) {
    ExclusiveFileLock.held.add(db);
  }

  /**
   * Holds `path` (created if needed, private, holding no data), or undefined at once, with no
   * waiting, when another process or another open in this one holds it.
   */
  static tryAcquire(path: string): ExclusiveFileLock | undefined {
    // No busy wait: a held lock is an answer, not contention to ride out.
    const db = new Database(path, { timeout: 0 });
    try {
      // Nothing is ever written: no journal file beside it either (OFF is refused in defensive mode).
      db.pragma('journal_mode = MEMORY');
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: unknown }).code === 'SQLITE_BUSY') return undefined;
      throw err;
    }
    // chmod, not open(mode): opening and closing another descriptor of the file would drop our fcntl lock.
    chmodSync(path, PRIVATE_FILE_MODE);
    return new ExclusiveFileLock(db);
  }

  /** Idempotent. */
  release(): void {
    ExclusiveFileLock.held.delete(this.db);
    if (this.db.open) this.db.close();
  }
}
