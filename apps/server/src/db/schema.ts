import type Database from 'better-sqlite3';
import { InternalError } from '@lxchunk/errors';

/** 'lxch': marks the file as an lxchunk metadata database (PRAGMA application_id). */
export const APPLICATION_ID = 0x6c786368;

/**
 * Schema migrations, keyed by `PRAGMA user_version`: MIGRATIONS[n] takes a database from version n
 * to n + 1. Never edit a released entry; append a new one. Each runs in the same IMMEDIATE
 * transaction as the user_version bump, so a crash leaves the previous version intact.
 */
const MIGRATIONS: readonly string[] = [
  // 0 -> 1: the initial schema.
  `
  -- One row per stored image. manifest is the exact bytes pushed, kept last so that reading the
  -- other columns never touches its overflow pages. public never changes (it is part of the
  -- manifest bytes, and a different manifest under the same fingerprint is refused).
  CREATE TABLE images (
    id           INTEGER PRIMARY KEY,
    fingerprint  BLOB    NOT NULL UNIQUE CHECK (length(fingerprint) = 32),
    type         TEXT    NOT NULL CHECK (type IN ('container', 'virtual-machine')),
    architecture TEXT    NOT NULL,
    created      TEXT    NOT NULL,
    public       INTEGER NOT NULL CHECK (public IN (0, 1)),
    properties   TEXT    NOT NULL, -- JSON object of string values
    size         INTEGER NOT NULL CHECK (size >= 0),
    chunk_count  INTEGER NOT NULL CHECK (chunk_count >= 0), -- distinct chunks
    pushed_at    INTEGER NOT NULL, -- epoch ms
    manifest     BLOB    NOT NULL
  );
  CREATE INDEX images_by_pushed_at ON images (pushed_at);

  -- One row per distinct chunk an image references. public is a copy of images.public (which is
  -- immutable), so the access check for a chunk is one probe of image_chunks_by_chunk.
  CREATE TABLE image_chunks (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    chunk_id BLOB    NOT NULL CHECK (length(chunk_id) = 32),
    public   INTEGER NOT NULL CHECK (public IN (0, 1)),
    PRIMARY KEY (image_id, chunk_id)
  ) WITHOUT ROWID;
  CREATE INDEX image_chunks_by_chunk ON image_chunks (chunk_id, public);

  -- Current aliases. The foreign key (no ON DELETE action) makes deleting a targeted image
  -- impossible even if a caller skips the ImageInUseError check.
  CREATE TABLE aliases (
    name        TEXT    PRIMARY KEY,
    target      BLOB    NOT NULL REFERENCES images (fingerprint),
    version     INTEGER NOT NULL CHECK (version >= 1),
    updated     INTEGER NOT NULL, -- epoch ms of the last target change
    description TEXT    NOT NULL DEFAULT ''
  );
  CREATE INDEX aliases_by_target ON aliases (target);

  -- Every target an alias has had, in order. Survives deletion of the alias and of the images
  -- (no foreign key): retention reads it.
  CREATE TABLE alias_history (
    id      INTEGER PRIMARY KEY,
    name    TEXT    NOT NULL,
    target  BLOB    NOT NULL,
    version INTEGER NOT NULL,
    at      INTEGER NOT NULL
  );
  CREATE INDEX alias_history_by_name ON alias_history (name, id);
  CREATE INDEX alias_history_by_target ON alias_history (target);

  -- The change feed followed by agents. AUTOINCREMENT: a seq is never reused, even if old rows
  -- are pruned some day. target NULL = the alias was deleted.
  CREATE TABLE alias_changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT    NOT NULL,
    target  BLOB,
    version INTEGER NOT NULL,
    at      INTEGER NOT NULL
  );

  -- Bearer tokens: only sha256(token) is stored. Names are unique among unrevoked tokens.
  CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL,
    hash         BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32),
    scopes       TEXT    NOT NULL, -- space-separated, canonical order: read push admin
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
  );
  CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_at IS NULL;

  -- Chunks protected from garbage collection while until > now (epoch ms). No index on until:
  -- renewals (up to 100k ids per missing-check) are the hot path; GC's scans are rare.
  CREATE TABLE leases (
    chunk_id BLOB    PRIMARY KEY CHECK (length(chunk_id) = 32),
    until    INTEGER NOT NULL
  ) WITHOUT ROWID;

  PRAGMA application_id = ${APPLICATION_ID};
  `,
  // 1 -> 2: GC's claims live in the lease row, so a renewal and a claim are ordered by the database
  // (several processes may share one store). NULL: no claim.
  `
  ALTER TABLE leases ADD COLUMN gc_claim_until INTEGER;
  `,
];

/** The schema version this build creates and understands. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Connection settings; must run outside any transaction. */
export function configure(db: Database.Database): void {
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  if (db.pragma('foreign_keys', { simple: true }) !== 1) throw new InternalError('could not enable SQLite foreign keys');
}

/** Brings the database to SCHEMA_VERSION. Safe when several processes open a new file at once. */
export function migrate(db: Database.Database, path: string): void {
  const check = (): number => {
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (appId !== 0 && appId !== APPLICATION_ID) {
      throw new InternalError(`${path} is not an lxchunk metadata database (application_id ${appId})`);
    }
    if (version > SCHEMA_VERSION) {
      throw new InternalError(`${path} has schema version ${version}; this lxchunk understands up to ${SCHEMA_VERSION}`);
    }
    return version;
  };
  if (check() === SCHEMA_VERSION) return;
  db.transaction(() => {
    // Re-read under the write lock: another process may have migrated meanwhile.
    for (let version = check(); version < SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    }
  }).immediate();
}
