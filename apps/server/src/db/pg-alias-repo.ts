import type pg from 'pg';
import { ImageNotFoundError } from '@lxchunk/errors';
import { fromBlob } from './blob-ids.js';
import type { AliasExpectation, AliasHistoryEntry, AliasRecord, AliasSetResult, Change } from './alias-repo.js';
import {
  aliasRecord,
  checkExpectation,
  checkKeep,
  checkLimit,
  checkSeq,
  nextAliasRow,
  validateAliasSet,
  validateExpectVersion,
  type AliasRow,
} from './alias-rules.js';
import type { AliasRepository } from './metadata-store.js';
import { PG_LOCK_KEYS } from './pg-schema.js';
import { inTransaction } from './pg-transaction.js';

/** The NOTIFY channel of alias changes; the payload is the change's seq. */
export const ALIAS_CHANGES_CHANNEL = 'lxchunk_alias_changes';

const ALIAS_COLUMNS = `name, target, version, updated, description`;

/**
 * Aliases, their history and the change feed in PostgreSQL: AliasRepo's semantics (alias-repo.ts).
 * Every write holds one transaction-scoped advisory lock for all alias writes. That makes each
 * compare-and-swap exact across replicas (a missing row could not be locked with FOR UPDATE), and
 * it makes change seqs commit in order: a follower that has read seq n never sees a smaller seq
 * appear later. Alias writes are rare, so one lock costs nothing.
 */
export class PgAliasRepo implements AliasRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number,
  ) {}

  async get(name: string): Promise<AliasRecord | undefined> {
    const row = await currentRow(this.pool, name);
    return row ? aliasRecord(row) : undefined;
  }

  async list(): Promise<AliasRecord[]> {
    const { rows } = await this.pool.query<AliasRow>(`SELECT ${ALIAS_COLUMNS} FROM aliases ORDER BY name COLLATE "C"`);
    return rows.map(aliasRecord);
  }

  async set(name: string, target: string, expect: AliasExpectation, description?: string): Promise<AliasSetResult> {
    const targetBlob = validateAliasSet(name, target, expect, description);
    return inTransaction(this.pool, async (client) => {
      await lockAliasWrites(client);
      const current = await currentRow(client, name);
      checkExpectation(name, current, expect);
      // KEY SHARE: the image cannot be deleted before this transaction ends.
      const image = await client.query(`SELECT 1 FROM images WHERE fingerprint = $1 FOR KEY SHARE`, [targetBlob]);
      if (image.rowCount === 0) throw new ImageNotFoundError(target);
      const last = await client.query<{ v: number }>(`SELECT coalesce(max(version), 0) AS v FROM alias_history WHERE name = $1`, [name]);
      const next = nextAliasRow(current, name, targetBlob, description, last.rows[0]!.v, this.now());
      if (next.kind === 'same') {
        if (next.describe) await client.query(`UPDATE aliases SET description = $1 WHERE name = $2`, [next.row.description, name]);
        return { record: aliasRecord(next.row), changed: false };
      }
      const { row } = next;
      await client.query(
        `INSERT INTO aliases (${ALIAS_COLUMNS}) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO UPDATE SET target = EXCLUDED.target, version = EXCLUDED.version,
           updated = EXCLUDED.updated, description = EXCLUDED.description`,
        [name, targetBlob, row.version, row.updated, row.description],
      );
      await client.query(`INSERT INTO alias_history (name, target, version, at) VALUES ($1, $2, $3, $4)`, [name, targetBlob, row.version, row.updated]);
      await addChange(client, name, targetBlob, row.version, row.updated);
      return { record: aliasRecord(row), changed: true };
    });
  }

  async delete(name: string, expectVersion?: number): Promise<boolean> {
    validateExpectVersion(expectVersion);
    return inTransaction(this.pool, async (client) => {
      await lockAliasWrites(client);
      const current = await currentRow(client, name);
      if (expectVersion !== undefined) checkExpectation(name, current, { version: expectVersion });
      if (!current) return false;
      await client.query(`DELETE FROM aliases WHERE name = $1`, [name]);
      await addChange(client, name, null, current.version, this.now());
      return true;
    });
  }

  async history(name: string, limit = 100): Promise<AliasHistoryEntry[]> {
    const { rows } = await this.pool.query<{ target: Buffer; version: number; at: number }>(
      `SELECT target, version, at FROM alias_history WHERE name = $1 ORDER BY id DESC LIMIT $2`,
      [name, checkLimit(limit)],
    );
    return rows.map((r) => ({ target: fromBlob(r.target), version: r.version, at: r.at }));
  }

  async targetAt(name: string, version: number): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ target: Buffer }>(`SELECT target FROM alias_history WHERE name = $1 AND version = $2`, [name, version]);
    return rows[0] ? fromBlob(rows[0].target) : undefined;
  }

  async changesSince(seq: number, limit = 1000): Promise<Change[]> {
    const { rows } = await this.pool.query<{ seq: number; name: string; target: Buffer | null; version: number; at: number }>(
      `SELECT seq, name, target, version, at FROM alias_changes WHERE seq > $1 ORDER BY seq LIMIT $2`,
      [checkSeq(seq), checkLimit(limit)],
    );
    return rows.map((r) => ({ seq: r.seq, alias: r.name, target: r.target ? fromBlob(r.target) : null, version: r.version, at: r.at }));
  }

  async latestSeq(): Promise<number> {
    // max(seq), not the sequence: a seq taken by a transaction not yet committed is no change yet.
    const { rows } = await this.pool.query<{ seq: number }>(`SELECT coalesce(max(seq), 0) AS seq FROM alias_changes`);
    return rows[0]!.seq;
  }

  async retentionCandidates(keep: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ fingerprint: Buffer }>(
      `WITH last_use AS (
         SELECT name, target, max(id) AS last_id FROM alias_history GROUP BY name, target
       ),
       kept AS (
         SELECT target FROM (
           SELECT target, row_number() OVER (PARTITION BY name ORDER BY last_id DESC) AS rank FROM last_use
         ) ranked WHERE rank <= $1
       )
       SELECT i.fingerprint FROM images i
       WHERE i.fingerprint IN (SELECT target FROM alias_history)
         AND i.fingerprint NOT IN (SELECT target FROM aliases)
         AND i.fingerprint NOT IN (SELECT target FROM kept)
       ORDER BY i.pushed_at, i.id`,
      [checkKeep(keep)],
    );
    return rows.map((r) => fromBlob(r.fingerprint));
  }
}

async function currentRow(client: pg.ClientBase | pg.Pool, name: string): Promise<AliasRow | undefined> {
  const { rows } = await client.query<AliasRow>(`SELECT ${ALIAS_COLUMNS} FROM aliases WHERE name = $1`, [name]);
  return rows[0];
}

async function lockAliasWrites(client: pg.ClientBase): Promise<void> {
  await client.query(`SELECT pg_advisory_xact_lock($1)`, [PG_LOCK_KEYS.aliasWrites.toString()]);
}

/** A change row, announced to every listener when the transaction commits (NOTIFY is transactional). */
async function addChange(client: pg.ClientBase, name: string, target: Buffer | null, version: number, at: number): Promise<void> {
  await client.query(
    `WITH change AS (INSERT INTO alias_changes (name, target, version, at) VALUES ($1, $2, $3, $4) RETURNING seq)
     SELECT pg_notify('${ALIAS_CHANGES_CHANNEL}', seq::text) FROM change`,
    [name, target, version, at],
  );
}
