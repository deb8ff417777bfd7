import type { GcReport } from '@lxchunk/format';
import type { ChunkPruner, ChunkReader } from '@lxchunk/store';
import { ChunkKeeper } from './chunk-keeper.js';
import type { MetadataStore } from './db/metadata-store.js';

// The report is sent as is by `POST /v1/admin/gc`: its shape is the wire contract's.
export type { GcReport };

/** Stored chunks decided per round: one query per question, one claim, one bulk delete. */
const SWEEP_BATCH = 1000;

export interface GcOptions {
  readonly db: MetadataStore;
  readonly store: ChunkReader & ChunkPruner;
  /** The running server's keeper; offline gc makes its own. */
  readonly keeper?: ChunkKeeper;
  readonly retentionKeep: number;
  readonly dryRun: boolean;
  readonly now?: number;
}

/**
 * Retention, then mark and sweep, holding the store-wide GC lock (one GC at a time, whatever the
 * number of server processes). Retention deletes images that fell out of every alias's newest
 * `retentionKeep` targets; the sweep deletes chunks no image references, except those leased by a
 * push still in progress. Pushes and commits are not held up: the keeper's claims order them with
 * the sweep chunk by chunk (see ChunkKeeper and LeaseRepository).
 */
export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  const { db, store, dryRun } = options;
  return db.withGcLock(async () => {
    const now = options.now ?? Date.now();
    const imagesDeleted = await db.aliases.retentionCandidates(options.retentionKeep);
    if (!dryRun) for (const fingerprint of imagesDeleted) await db.images.delete(fingerprint);
    if (!dryRun) await db.leases.expire(now);
    const keeper = options.keeper ?? new ChunkKeeper(db, store, 0);
    const dropped = new Set(dryRun ? imagesDeleted : []);
    const referencedAmong = (ids: readonly string[]) => stillReferenced(db, ids, dropped);
    const report = { chunksDeleted: 0, bytesFreed: 0, chunksKept: 0, leased: 0, leasesEnd: 0 };
    const sweep = async (batch: string[]) => {
      const result = await keeper.sweep(batch, referencedAmong, dryRun);
      report.chunksKept += result.referenced;
      report.leased += result.leased.length;
      if (result.leased.length > 0) report.leasesEnd = Math.max(report.leasesEnd, (await db.leases.latestUntil(result.leased)) ?? 0);
      report.chunksDeleted += result.deleted.length;
      for (const chunk of result.deleted) report.bytesFreed += chunk.storedSize;
    };
    let batch: string[] = [];
    for await (const id of store.list()) {
      batch.push(id);
      if (batch.length === SWEEP_BATCH) {
        await sweep(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await sweep(batch);
    const { chunksDeleted, bytesFreed, chunksKept, leased, leasesEnd } = report;
    return { dryRun, imagesDeleted, chunksDeleted, bytesFreed, chunksKept, leased, leasesEndBy: leasesEnd > 0 ? new Date(leasesEnd).toISOString() : null };
  });
}

/** In a dry run the retention victims are still stored; count their chunks as if they were gone. */
async function stillReferenced(db: MetadataStore, ids: readonly string[], dropped: ReadonlySet<string>): Promise<Set<string>> {
  const referenced = await db.images.referencedAmong(ids);
  if (dropped.size === 0) return referenced;
  const kept = new Set<string>();
  for (const id of referenced) {
    if ((await db.images.referencingImages(id)).some((fingerprint) => !dropped.has(fingerprint))) kept.add(id);
  }
  return kept;
}
