import type Database from 'better-sqlite3';
import { InvalidInputError } from '@lxchunk/errors';
import { fromBlob, isEpochMs, sortedBlobs, toBlob } from './blob-ids.js';

/**
 * Leases keep freshly uploaded (or re-announced) chunks from garbage collection until a manifest
 * references them; GC's claims mark chunks it is deleting. A chunk is leased while `until > now`
 * and claimed while `gc_claim_until > now`. The protocol is LeaseRepository's (metadata-store.ts);
 * here every write is an IMMEDIATE transaction, which orders renewals and claims.
 */
export class LeaseRepo {
  private readonly stmt;
  private readonly renewTx;
  private readonly claimTx;
  private readonly releaseTx;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      upsert: db.prepare<[Buffer, number], { claim: number | null }>(
        `INSERT INTO leases (chunk_id, until) VALUES (?, ?)
         ON CONFLICT (chunk_id) DO UPDATE SET until = max(leases.until, excluded.until)
         RETURNING gc_claim_until AS claim`,
      ),
      isLeased: db.prepare<[Buffer, number], 1>(`SELECT 1 FROM leases WHERE chunk_id = ? AND until > ?`).pluck(),
      isClaimed: db.prepare<[Buffer, number], 1>(`SELECT 1 FROM leases WHERE chunk_id = ? AND gc_claim_until > ?`).pluck(),
      // Hex in SQL: twice as fast as converting 100k Buffers in JS.
      leased: db.prepare<[number], string>(`SELECT lower(hex(chunk_id)) FROM leases WHERE until > ?`).pluck(),
      expire: db.prepare<[number, number]>(`DELETE FROM leases WHERE until <= ? AND (gc_claim_until IS NULL OR gc_claim_until <= ?)`),
      until: db.prepare<[Buffer], number>(`SELECT until FROM leases WHERE chunk_id = ?`).pluck(),
      claim: db.prepare<[{ id: Buffer; now: number; claimUntil: number }], Buffer>(
        `INSERT INTO leases (chunk_id, until, gc_claim_until) VALUES (@id, 0, @claimUntil)
         ON CONFLICT (chunk_id) DO UPDATE SET gc_claim_until = excluded.gc_claim_until
           WHERE leases.until <= @now AND (leases.gc_claim_until IS NULL OR leases.gc_claim_until <= @now)
         RETURNING chunk_id`,
      ).pluck(),
      unclaim: db.prepare<[Buffer]>(`UPDATE leases SET gc_claim_until = NULL WHERE chunk_id = ?`),
      releaseAll: db.prepare(`UPDATE leases SET gc_claim_until = NULL WHERE gc_claim_until IS NOT NULL`),
      dropEnded: db.prepare<[Buffer, number]>(`DELETE FROM leases WHERE chunk_id = ? AND until <= ? AND gc_claim_until IS NULL`),
    };
    this.renewTx = db.transaction((ids: Buffer[], until: number, now: number): Set<string> => {
      const claimed = new Set<string>();
      for (const id of ids) {
        const claim = this.stmt.upsert.get(id, until)?.claim ?? null;
        if (claim !== null && claim > now) claimed.add(fromBlob(id));
      }
      return claimed;
    });
    this.claimTx = db.transaction((ids: Buffer[], now: number, claimUntil: number): string[] => {
      const claimed: string[] = [];
      for (const id of ids) {
        const row = this.stmt.claim.get({ id, now, claimUntil });
        if (row !== undefined) claimed.push(fromBlob(row));
      }
      return claimed;
    });
    this.releaseTx = db.transaction((ids: Buffer[], now: number) => {
      for (const id of ids) {
        this.stmt.unclaim.run(id);
        this.stmt.dropEnded.run(id, now);
      }
    });
  }

  renew(ids: readonly string[], until: number, now: number): Set<string> {
    if (!isEpochMs(until)) throw new InvalidInputError(`lease until must be epoch milliseconds, got ${until}`);
    const blobs = sortedBlobs(ids);
    return blobs.length > 0 ? this.renewTx.immediate(blobs, until, now) : new Set();
  }

  isLeased(id: string, now: number): boolean {
    return this.stmt.isLeased.get(toBlob(id, 'chunk id'), now) !== undefined;
  }

  until(id: string): number | undefined {
    return this.stmt.until.get(toBlob(id, 'chunk id'));
  }

  latestUntil(ids: readonly string[]): number | undefined {
    let latest: number | undefined;
    for (const id of ids) {
      const until = this.until(id);
      if (until !== undefined && (latest === undefined || until > latest)) latest = until;
    }
    return latest;
  }

  leasedIds(now: number): Set<string> {
    return new Set(this.stmt.leased.all(now));
  }

  leasedAmong(ids: readonly string[], now: number): Set<string> {
    return new Set(ids.filter((id) => this.isLeased(id, now)));
  }

  expire(now: number): number {
    return this.stmt.expire.run(now, now).changes;
  }

  claim(ids: readonly string[], now: number, claimUntil: number): string[] {
    if (!isEpochMs(claimUntil)) throw new InvalidInputError(`claim until must be epoch milliseconds, got ${claimUntil}`);
    const blobs = sortedBlobs(ids);
    return blobs.length > 0 ? this.claimTx.immediate(blobs, now, claimUntil) : [];
  }

  releaseAllClaims(): number {
    return this.stmt.releaseAll.run().changes;
  }

  release(ids: readonly string[], now: number): void {
    const blobs = sortedBlobs(ids);
    if (blobs.length > 0) this.releaseTx.immediate(blobs, now);
  }

  claimedAmong(ids: readonly string[], now: number): Set<string> {
    return new Set(ids.filter((id) => this.stmt.isClaimed.get(toBlob(id, 'chunk id'), now) !== undefined));
  }
}

