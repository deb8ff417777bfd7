import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { PRIVATE_DIR, PRIVATE_FILE_MODE } from '@lxchunk/store';
import { AliasRepo } from './alias-repo.js';
import { ImageRepo } from './image-repo.js';
import { LeaseRepo } from './lease-repo.js';
import { SCHEMA_VERSION, configure, migrate } from './schema.js';
import { TokenRepo } from './token-repo.js';

export interface MetadataDbOptions {
  /** Epoch ms clock for pushedAt, alias times, token times. Default Date.now. */
  now?: () => number;
}

/**
 * The server's metadata: images, aliases (with history and change feed), tokens and chunk leases,
 * in one SQLite file (WAL, busy_timeout 5000, foreign keys on). Synchronous, like better-sqlite3.
 * Several instances (processes, threads) may share a file: every write is an IMMEDIATE
 * transaction, so compare-and-swaps serialize instead of failing with SQLITE_BUSY_SNAPSHOT.
 */
export class MetadataDb {
  readonly images: ImageRepo;
  readonly aliases: AliasRepo;
  readonly tokens: TokenRepo;
  readonly leases: LeaseRepo;

  private constructor(
    private readonly db: Database.Database,
    readonly path: string,
    readonly now: () => number,
  ) {
    this.images = new ImageRepo(db, now);
    this.aliases = new AliasRepo(db, now);
    this.tokens = new TokenRepo(db, now);
    this.leases = new LeaseRepo(db);
  }

  /** Opens (creating the file, its directory and the schema if needed) and migrates to SCHEMA_VERSION. */
  static open(path: string, options: MetadataDbOptions = {}): MetadataDb {
    mkdirSync(dirname(path), PRIVATE_DIR);
    createPrivate(path);
    const db = new Database(path);
    try {
      configure(db);
      migrate(db, path);
      return new MetadataDb(db, path, options.now ?? Date.now);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** The connection's effective settings, for diagnostics and tests. */
  settings(): { journalMode: string; foreignKeys: boolean; busyTimeoutMs: number; schemaVersion: number } {
    return {
      journalMode: String(this.db.pragma('journal_mode', { simple: true })),
      foreignKeys: this.db.pragma('foreign_keys', { simple: true }) === 1,
      busyTimeoutMs: Number(this.db.pragma('busy_timeout', { simple: true })),
      schemaVersion: this.schemaVersion,
    };
  }

  /** The schema version of the open file (PRAGMA user_version). */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  static readonly SCHEMA_VERSION = SCHEMA_VERSION;

  get isOpen(): boolean {
    return this.db.open;
  }

  /** Idempotent. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction (a savepoint when nested): repository calls inside it
   * commit or roll back together; a throw rolls back and rethrows. `fn` must be synchronous.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}

/**
 * Creates the file 0600 unless it exists: SQLite would make it 0644, and its -wal and -shm files
 * take the database's mode. (Only a missing file is opened here: closing a descriptor of a file
 * SQLite holds open in this process would drop its locks.)
 */
function createPrivate(path: string): void {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE_MODE));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}
