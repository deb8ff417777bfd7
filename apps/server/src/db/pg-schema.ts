import type pg from 'pg';
import { InternalError } from '@lxchunk/errors';

/** Advisory lock keys (the single-bigint key space), 'lxch' in the high half. */
export const PG_LOCK_KEYS = {
  migrate: 0x6c78636800000001n,
  gc: 0x6c78636800000002n,
  aliasWrites: 0x6c78636800000003n,
} as const;

/**
 * Schema migrations, keyed by the lxchunk_schema table: PG_MIGRATIONS[n] takes a database from
 * version n to n + 1. Never edit a released entry; append a new one. The same tables as the
 * SQLite schema (schema.ts), in PostgreSQL's types: bytea ids, bigint epoch ms, jsonb properties.
 */
const PG_MIGRATIONS: readonly string[] = [
  // 0 -> 1: the initial schema, as SQLite's version 2.
  `
  CREATE TABLE images (
    id           bigserial PRIMARY KEY,
    fingerprint  bytea   NOT NULL UNIQUE CHECK (length(fingerprint) = 32),
    type         text    NOT NULL CHECK (type IN ('container', 'virtual-machine')),
    architecture text    NOT NULL,
    created      text    NOT NULL,
    public       boolean NOT NULL,
    properties   jsonb   NOT NULL, -- object of string values
    size         bigint  NOT NULL CHECK (size >= 0),
    chunk_count  bigint  NOT NULL CHECK (chunk_count >= 0),
    pushed_at    bigint  NOT NULL,
    manifest     bytea   NOT NULL
  );
  CREATE INDEX images_by_pushed_at ON images (pushed_at);

  CREATE TABLE image_chunks (
    image_id bigint  NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    chunk_id bytea   NOT NULL CHECK (length(chunk_id) = 32),
    public   boolean NOT NULL,
    PRIMARY KEY (image_id, chunk_id)
  );
  CREATE INDEX image_chunks_by_chunk ON image_chunks (chunk_id, public);

  CREATE TABLE aliases (
    name        text   PRIMARY KEY,
    target      bytea  NOT NULL REFERENCES images (fingerprint),
    version     bigint NOT NULL CHECK (version >= 1),
    updated     bigint NOT NULL,
    description text   NOT NULL DEFAULT ''
  );
  CREATE INDEX aliases_by_target ON aliases (target);

  CREATE TABLE alias_history (
    id      bigserial PRIMARY KEY,
    name    text   NOT NULL,
    target  bytea  NOT NULL,
    version bigint NOT NULL,
    at      bigint NOT NULL
  );
  CREATE INDEX alias_history_by_name ON alias_history (name, id);
  CREATE INDEX alias_history_by_target ON alias_history (target);

  CREATE TABLE alias_changes (
    seq     bigserial PRIMARY KEY,
    name    text   NOT NULL,
    target  bytea,
    version bigint NOT NULL,
    at      bigint NOT NULL
  );

  CREATE TABLE tokens (
    id           bigserial PRIMARY KEY,
    name         text   NOT NULL,
    hash         bytea  NOT NULL UNIQUE CHECK (length(hash) = 32),
    scopes       text   NOT NULL,
    created_at   bigint NOT NULL,
    last_used_at bigint,
    expires_at   bigint,
    revoked_at   bigint
  );
  CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked_at IS NULL;

  CREATE TABLE leases (
    chunk_id       bytea  PRIMARY KEY CHECK (length(chunk_id) = 32),
    until          bigint NOT NULL,
    gc_claim_until bigint
  );
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;

/**
 * Brings the database to PG_SCHEMA_VERSION in one transaction under an advisory lock: replicas
 * starting at once migrate once (the others wait, then find nothing to do), and a failure leaves
 * the previous version intact.
 */
export async function migratePg(client: pg.ClientBase, location: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [PG_LOCK_KEYS.migrate.toString()]);
    await client.query('CREATE TABLE IF NOT EXISTS lxchunk_schema (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const { rows } = await client.query<{ version: number }>('SELECT coalesce(max(version), 0)::integer AS version FROM lxchunk_schema');
    const current = rows[0]!.version;
    if (current > PG_SCHEMA_VERSION) {
      throw new InternalError(`${location} has schema version ${current}; this lxchunk understands up to ${PG_SCHEMA_VERSION}`);
    }
    for (let version = current; version < PG_SCHEMA_VERSION; version++) {
      await client.query(PG_MIGRATIONS[version]!);
      await client.query('INSERT INTO lxchunk_schema (version) VALUES ($1)', [version + 1]);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The schema version of the database (0 before the first migration). */
export async function pgSchemaVersion(client: pg.ClientBase | pg.Pool): Promise<number> {
  const exists = await client.query<{ found: boolean }>(`SELECT to_regclass('lxchunk_schema') IS NOT NULL AS found`);
  if (!exists.rows[0]!.found) return 0;
  const { rows } = await client.query<{ version: number }>('SELECT coalesce(max(version), 0)::integer AS version FROM lxchunk_schema');
  return rows[0]!.version;
}
