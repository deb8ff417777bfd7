import { setTimeout as sleep } from 'node:timers/promises';
import { crashPoint, forEachBounded } from '@lxchunk/errors';
import type { ChunkPruner, ChunkReader } from '@lxchunk/store';
import type { MetadataStore } from './db/metadata-store.js';

/**
 * How long GC's claim on a batch of chunks lasts. A claim outlives its GC only if that process
 * dies mid-batch: uploads of those chunks then wait this long. GC stops deleting a batch once half
 * of it has passed, so a stalled GC can never delete a chunk after its claim ended.
 */
export const GC_CLAIM_MS = 120_000;

/** How often an upload waiting for another process's GC looks again. */
const CLAIM_POLL_MS = 100;

/** Existence checks in flight at once: an object store answers each in a round trip. */
const HAS_CONCURRENCY = 32;

/** What GC decided about one batch of stored chunks. */
export interface SweepResult {
  readonly referenced: number;
  /** Protected by a lease (or claimed by another GC meanwhile). */
  readonly leased: readonly string[];
  /** Deleted (or, in a dry run, would be), with the bytes they held. */
  readonly deleted: readonly { readonly id: string; readonly storedSize: number }[];
}

type SweepStore = ChunkReader & ChunkPruner & { deleteMany?(ids: readonly string[]): Promise<Set<string>> };

/**
 * The server's promise to a push: a chunk it answered present (missing-check), accepted (upload)
 * or let a manifest reference stays stored until a manifest references it or its lease ends.
 *
 * Leases and GC's claims meet in the metadata store (LeaseRepository), which orders them for any
 * number of server processes: a lease is written before the answer goes out or the bytes are
 * stored; GC claims a chunk only while no lease covers it, and checks references after claiming.
 * A chunk under a claim counts as absent, and is written again only once the claim is released.
 */
export class ChunkKeeper {
  /** This process's GC deletes in progress, so an upload here waits for them without polling. */
  private readonly deleting = new Map<string, Promise<void>>();

  constructor(
    private readonly db: MetadataStore,
    private readonly store: SweepStore,
    private readonly leaseMs: number,
  ) {}

  /**
   * Leases `ids` from now on, before answering about them or storing them. Returns those GC is
   * deleting right now: they count as absent, and may be written only after `settled`.
   */
  promise(ids: readonly string[]): Promise<Set<string>> {
    const now = Date.now();
    return this.db.leases.renew(ids, now + this.leaseMs, now);
  }

  /** Leases `ids` and returns those the store does not hold for good (absent or being deleted). */
  async missing(ids: readonly string[]): Promise<string[]> {
    const claimed = await this.promise(ids);
    const absent = await this.absent(ids.filter((id) => !claimed.has(id)));
    return ids.filter((id) => claimed.has(id) || absent.has(id));
  }

  /** Those of `ids` the store lacks, without leasing anything. */
  async absent(ids: readonly string[]): Promise<Set<string>> {
    const absent = new Set<string>();
    await forEachBounded(ids, HAS_CONCURRENCY, async (id) => {
      if (!(await this.store.has(id))) absent.add(id);
    });
    return absent;
  }

  /** Resolves once no GC (of any process) is deleting `id`: a write after it cannot be undone by GC. */
  async settled(id: string): Promise<void> {
    await this.deleting.get(id);
    while ((await this.db.leases.claimedAmong([id], Date.now())).size > 0) await sleep(CLAIM_POLL_MS);
  }

  /**
   * GC's step for a batch of stored chunks: deletes those no image references (`referencedAmong`)
   * and no lease covers. A dry run decides without claiming or deleting.
   */
  async sweep(ids: readonly string[], referencedAmong: (ids: readonly string[]) => Promise<Set<string>>, dryRun: boolean): Promise<SweepResult> {
    const now = Date.now();
    const referenced = await referencedAmong(ids);
    const unreferenced = ids.filter((id) => !referenced.has(id));
    const leasedNow = await this.db.leases.leasedAmong(unreferenced, now);
    const candidates = unreferenced.filter((id) => !leasedNow.has(id));
    const leased = [...leasedNow];
    if (dryRun) return { referenced: referenced.size, leased, deleted: await this.sizes(candidates) };

    const claimUntil = now + GC_CLAIM_MS;
    const claimed = await this.db.leases.claim(candidates, now, claimUntil);
    const claimedSet = new Set(claimed);
    leased.push(...candidates.filter((id) => !claimedSet.has(id)));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    for (const id of claimed) this.deleting.set(id, released);
    try {
      // A manifest committed before the claim references the chunk now; one after it saw the claim.
      const nowReferenced = await referencedAmong(claimed);
      const doomed = claimed.filter((id) => !nowReferenced.has(id));
      const sized = await this.sizes(doomed);
      if (Date.now() > now + GC_CLAIM_MS / 2) return { referenced: referenced.size + nowReferenced.size, leased, deleted: [] };
      const gone = await this.deleteAll(doomed);
      return { referenced: referenced.size + nowReferenced.size, leased, deleted: sized.filter((chunk) => gone.has(chunk.id)) };
    } finally {
      try {
        await this.db.leases.release(claimed, Date.now());
      } finally {
        for (const id of claimed) this.deleting.delete(id);
        release();
      }
    }
  }

  private async sizes(ids: readonly string[]): Promise<{ id: string; storedSize: number }[]> {
    const sized: { id: string; storedSize: number }[] = [];
    await forEachBounded(ids, HAS_CONCURRENCY, async (id) => {
      const stat = await this.store.stat(id);
      if (stat) sized.push({ id, storedSize: stat.storedSize });
    });
    return sized;
  }

  private async deleteAll(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    if (this.store.deleteMany) {
      const gone = await this.store.deleteMany(ids);
      crashPoint('gc.delete');
      return gone;
    }
    // One at a time: a file store unlinks in microseconds, and a crash leaves a clean prefix done.
    const gone = new Set<string>();
    for (const id of ids) {
      if (await this.store.delete(id)) gone.add(id);
      crashPoint('gc.delete');
    }
    return gone;
  }
}
