import type { GcReport } from '@lxchunk/format';
import type { ChunkPruner, ChunkReader } from '@lxchunk/store';
import type { AsyncMutex } from './async-mutex.js';
import { ChunkKeeper } from './chunk-keeper.js';
import type { MetadataDb } from './db/metadata-db.js';

// The report is sent as is by `POST /v1/admin/gc`: its shape is the wire contract's.
export type { GcReport };

export interface GcOptions {
  readonly db: MetadataDb;
  readonly store: ChunkReader & ChunkPruner;
  /** The running server's promises to pushes in progress; offline gc makes its own. */
  readonly keeper?: ChunkKeeper;
  /** Shared with manifest commits; omitted by offline gc, which holds the data dir lock instead. */
  readonly commitLock?: AsyncMutex;
  readonly retentionKeep: number;
  readonly dryRun: boolean;
  readonly now?: number;
}

/**
 * Retention, then mark and sweep. Retention deletes images that fell out of every alias's newest
 * `retentionKeep` targets; the sweep deletes chunks no image references, except those leased by a
 * push still in progress (it uploaded them, or was told they exist, and has not committed its
 * manifest yet). Leases are read live, chunk by chunk, through the ChunkKeeper: a push that starts
 * while the sweep runs is protected as well. The sweep runs under the commit lock, so no manifest
 * can start referencing a chunk between the decision and the delete.
 */
export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  const { db, store, dryRun } = options;
  const now = options.now ?? Date.now();
  const sweep = async (): Promise<GcReport> => {
    const imagesDeleted = db.aliases.retentionCandidates(options.retentionKeep);
    if (!dryRun) for (const fingerprint of imagesDeleted) db.images.delete(fingerprint);
    if (!dryRun) db.leases.expire(now);
    const keeper = options.keeper ?? new ChunkKeeper(db, store, 0);
    const dropped = new Set(dryRun ? imagesDeleted : []);
    const isReferenced = (id: string) => isStillReferenced(db, id, dropped);
    let chunksDeleted = 0;
    let bytesFreed = 0;
    let chunksKept = 0;
    let leased = 0;
    let leasesEnd = 0;
    for await (const id of store.list()) {
      // Most chunks are referenced or leased: no stat for those. The keeper checks again before deleting.
      const stat = keeper.isProtected(id, isReferenced) ? undefined : await store.stat(id);
      const outcome = await keeper.sweep(id, isReferenced, dryRun);
      if (outcome === 'referenced') chunksKept++;
      else if (outcome === 'leased') {
        leased++;
        leasesEnd = Math.max(leasesEnd, db.leases.until(id) ?? 0);
      }
      else if (outcome === 'deleted') {
        chunksDeleted++;
        bytesFreed += stat?.storedSize ?? 0;
      }
    }
    return { dryRun, imagesDeleted, chunksDeleted, bytesFreed, chunksKept, leased, leasesEndBy: leasesEnd > 0 ? new Date(leasesEnd).toISOString() : null };
  };
  return options.commitLock ? options.commitLock.run(sweep) : sweep();
}

/** In a dry run the retention victims are still stored; count their chunks as if they were gone. */
function isStillReferenced(db: MetadataDb, id: string, dropped: ReadonlySet<string>): boolean {
  if (dropped.size === 0) return db.images.isReferenced(id);
  return db.images.referencingImages(id).some((fingerprint) => !dropped.has(fingerprint));
}
