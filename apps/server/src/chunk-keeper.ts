import { crashPoint } from '@lxchunk/errors';
import type { ChunkPruner, ChunkReader } from '@lxchunk/store';
import type { MetadataDb } from './db/metadata-db.js';

export type SweepOutcome = 'referenced' | 'leased' | 'deleted' | 'absent';

/**
 * The server's promise to a push: a chunk it answered present (missing-check) or accepted
 * (upload) stays stored until a manifest references it or its lease ends.
 *
 * The promise is written (leased) before the answer goes out or the bytes are stored, and GC
 * decides about a chunk from the live lease table, checking and marking it in one synchronous step
 * (SQLite calls are synchronous here), so no lease can slip in between GC's decision and its
 * delete. A chunk GC has started to delete counts as absent to the missing-check, and an upload of
 * it waits for the delete to finish before it writes.
 */
export class ChunkKeeper {
  private readonly deleting = new Map<string, Promise<boolean>>();

  constructor(
    private readonly db: MetadataDb,
    private readonly store: ChunkReader & ChunkPruner,
    private readonly leaseMs: number,
  ) {}

  /** Leases `ids` from now on: call it before answering about them or storing them. */
  promise(ids: readonly string[]): void {
    this.db.leases.renew(ids, Date.now() + this.leaseMs);
  }

  /** Whether the store holds `id` for good: not if GC is deleting it right now. Call after `promise`. */
  async holds(id: string): Promise<boolean> {
    if (this.deleting.has(id)) return false;
    return this.store.has(id);
  }

  /** Resolves once no delete of `id` is in progress: a write after it cannot be undone by GC. */
  async settled(id: string): Promise<void> {
    await this.deleting.get(id);
  }

  /** Whether GC must keep `id` at this moment; a hint only, `sweep` decides again. */
  isProtected(id: string, isReferenced: (id: string) => boolean): boolean {
    return this.protection(id, isReferenced) !== undefined;
  }

  private protection(id: string, isReferenced: (id: string) => boolean): 'referenced' | 'leased' | undefined {
    if (isReferenced(id)) return 'referenced';
    if (this.db.leases.isLeased(id, Date.now())) return 'leased';
    return undefined;
  }

  /**
   * GC's step for one stored chunk: deletes it unless an image references it (`isReferenced`) or
   * a lease covers it at this moment. A dry run decides without deleting.
   */
  async sweep(id: string, isReferenced: (id: string) => boolean, dryRun: boolean): Promise<SweepOutcome> {
    const protection = this.protection(id, isReferenced);
    if (protection) return protection;
    if (dryRun) return 'deleted';
    if (this.deleting.has(id)) return 'absent';
    // Marked in the same tick as the checks above: from here on a promise of `id` waits or says absent.
    const deleted = this.store.delete(id);
    this.deleting.set(id, deleted);
    try {
      const outcome = (await deleted) ? 'deleted' : 'absent';
      crashPoint('gc.delete');
      return outcome;
    } finally {
      this.deleting.delete(id);
    }
  }
}
