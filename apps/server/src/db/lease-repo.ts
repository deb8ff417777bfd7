import type Database from 'better-sqlite3';
import { InvalidInputError } from '@lxchunk/errors';
import { isEpochMs, toBlob } from './blob-ids.js';

/**
 * Leases keep freshly uploaded (or re-announced) chunks from garbage collection until a manifest
 * references them. A chunk is leased while `until > now`.
 */
export class LeaseRepo {
  private readonly stmt;
  private readonly renewTx;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      upsert: db.prepare<[Buffer, number]>(
        `INSERT INTO leases (chunk_id, until) VALUES (?, ?)
         ON CONFLICT (chunk_id) DO UPDATE SET until = excluded.until WHERE excluded.until > leases.until`,
      ),
      isLeased: db.prepare<[Buffer, number], 1>(`SELECT 1 FROM leases WHERE chunk_id = ? AND until > ?`).pluck(),
      // Hex in SQL: twice as fast as converting 100k Buffers in JS.
      leased: db.prepare<[number], string>(`SELECT lower(hex(chunk_id)) FROM leases WHERE until > ?`).pluck(),
      expire: db.prepare<[number]>(`DELETE FROM leases WHERE until <= ?`),
      until: db.prepare<[Buffer], number>(`SELECT until FROM leases WHERE chunk_id = ?`).pluck(),
    };
    this.renewTx = db.transaction((ids: Buffer[], until: number) => {
      for (const id of ids) this.stmt.upsert.run(id, until);
    });
  }

  /** Extends each chunk's lease to `until` (epoch ms); a longer existing lease is kept. */
  renew(ids: readonly string[], until: number): void {
    if (!isEpochMs(until)) throw new InvalidInputError(`lease until must be epoch milliseconds, got ${until}`);
    const blobs = [...new Set(ids)].sort().map((id) => toBlob(id, 'chunk id'));
    if (blobs.length > 0) this.renewTx.immediate(blobs, until);
  }

  isLeased(id: string, now: number): boolean {
    return this.stmt.isLeased.get(toBlob(id, 'chunk id'), now) !== undefined;
  }

  /** When the chunk's lease ends (epoch ms), ended or not; undefined without one. */
  until(id: string): number | undefined {
    return this.stmt.until.get(toBlob(id, 'chunk id'));
  }

  /** Every chunk leased at `now`, for a garbage collection pass. */
  leasedIds(now: number): Set<string> {
    return new Set(this.stmt.leased.all(now));
  }

  /** Deletes leases that ended at or before `now`; returns how many. */
  expire(now: number): number {
    return this.stmt.expire.run(now).changes;
  }
}
