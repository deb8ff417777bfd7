import type pg from 'pg';
import { InvalidInputError } from '@lxchunk/errors';
import { batches } from './batches.js';
import { isEpochMs, sortedBlobs, toBlob } from './blob-ids.js';
import type { LeaseRepository } from './metadata-store.js';
import { inTransaction } from './pg-transaction.js';

/** Ids per statement: a missing-check renews up to 100k; smaller batches hold fewer row locks at once. */
const BATCH = 10_000;

/**
 * Leases and GC's claims in PostgreSQL: the protocol of LeaseRepository (metadata-store.ts). Every
 * write upserts the chunk's row, so the row lock orders a renewal and a claim; ids are sorted so
 * that concurrent batches lock rows in one order (no deadlocks).
 */
export class PgLeaseRepo implements LeaseRepository {
  constructor(private readonly pool: pg.Pool) {}

  async renew(ids: readonly string[], until: number, now: number): Promise<Set<string>> {
    if (!isEpochMs(until)) throw new InvalidInputError(`lease until must be epoch milliseconds, got ${until}`);
    const claimed = new Set<string>();
    for (const batch of batches(sortedBlobs(ids), BATCH)) {
      const { rows } = await this.pool.query<{ id: string }>(
        `WITH renewed AS (
           INSERT INTO leases (chunk_id, until) SELECT id, $2::bigint FROM unnest($1::bytea[]) AS id ORDER BY id
           ON CONFLICT (chunk_id) DO UPDATE SET until = GREATEST(leases.until, EXCLUDED.until)
           RETURNING chunk_id, gc_claim_until
         )
         SELECT encode(chunk_id, 'hex') AS id FROM renewed WHERE gc_claim_until > $3`,
        [batch, until, now],
      );
      for (const row of rows) claimed.add(row.id);
    }
    return claimed;
  }

  async isLeased(id: string, now: number): Promise<boolean> {
    return (await this.leasedAmong([id], now)).has(id);
  }

  async until(id: string): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ until: number }>(`SELECT until FROM leases WHERE chunk_id = $1`, [toBlob(id, 'chunk id')]);
    return rows[0]?.until;
  }

  async latestUntil(ids: readonly string[]): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ until: number | null }>(`SELECT max(until) AS until FROM leases WHERE chunk_id = ANY($1::bytea[])`, [
      ids.map((id) => toBlob(id, 'chunk id')),
    ]);
    return rows[0]?.until ?? undefined;
  }

  async leasedIds(now: number): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT encode(chunk_id, 'hex') AS id FROM leases WHERE until > $1`, [now]);
    return new Set(rows.map((r) => r.id));
  }

  async leasedAmong(ids: readonly string[], now: number): Promise<Set<string>> {
    return this.among(ids, `until > $2`, now);
  }

  async expire(now: number): Promise<number> {
    const result = await this.pool.query(`DELETE FROM leases WHERE until <= $1 AND (gc_claim_until IS NULL OR gc_claim_until <= $1)`, [now]);
    return result.rowCount ?? 0;
  }

  async claim(ids: readonly string[], now: number, claimUntil: number): Promise<string[]> {
    if (!isEpochMs(claimUntil)) throw new InvalidInputError(`claim until must be epoch milliseconds, got ${claimUntil}`);
    const claimed: string[] = [];
    for (const batch of batches(sortedBlobs(ids), BATCH)) {
      const { rows } = await this.pool.query<{ id: string }>(
        `WITH claimed AS (
           INSERT INTO leases (chunk_id, until, gc_claim_until) SELECT id, 0, $3::bigint FROM unnest($1::bytea[]) AS id ORDER BY id
           ON CONFLICT (chunk_id) DO UPDATE SET gc_claim_until = EXCLUDED.gc_claim_until
             WHERE leases.until <= $2 AND (leases.gc_claim_until IS NULL OR leases.gc_claim_until <= $2)
           RETURNING chunk_id
         )
         SELECT encode(chunk_id, 'hex') AS id FROM claimed ORDER BY chunk_id`,
        [batch, now, claimUntil],
      );
      for (const row of rows) claimed.push(row.id);
    }
    return claimed;
  }

  async release(ids: readonly string[], now: number): Promise<void> {
    for (const batch of batches(sortedBlobs(ids), BATCH)) {
      await inTransaction(this.pool, async (client) => {
        await client.query(`UPDATE leases SET gc_claim_until = NULL WHERE chunk_id = ANY($1::bytea[])`, [batch]);
        await client.query(`DELETE FROM leases WHERE chunk_id = ANY($1::bytea[]) AND until <= $2 AND gc_claim_until IS NULL`, [batch, now]);
      });
    }
  }

  async releaseAllClaims(): Promise<number> {
    return (await this.pool.query(`UPDATE leases SET gc_claim_until = NULL WHERE gc_claim_until IS NOT NULL`)).rowCount ?? 0;
  }

  async claimedAmong(ids: readonly string[], now: number): Promise<Set<string>> {
    return this.among(ids, `gc_claim_until > $2`, now);
  }

  private async among(ids: readonly string[], condition: string, now: number): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT encode(chunk_id, 'hex') AS id FROM leases WHERE chunk_id = ANY($1::bytea[]) AND ${condition}`,
      [ids.map((id) => toBlob(id, 'chunk id')), now],
    );
    return new Set(rows.map((r) => r.id));
  }
}
