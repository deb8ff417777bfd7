import type { ChunkPruner, ChunkReader } from '@lxchunk/store';
import type { MetadataStore } from './db/metadata-store.js';
import type { StoredTotals } from './server-metrics.js';

/** Walking the chunk files costs a stat each: at most once per this, whatever the scrape rate. */
const MAX_AGE_MS = 60_000;

/**
 * What the data dir holds, for the metrics: images from SQLite (one count), chunks and their
 * bytes from a walk of the store, cached. Concurrent scrapes share one walk.
 */
export class StoredTotalsCache {
  private cached: { at: number; totals: Promise<Omit<StoredTotals, 'images'>> } | undefined;

  constructor(
    private readonly db: () => MetadataStore,
    private readonly store: () => ChunkReader & ChunkPruner,
  ) {}

  async get(): Promise<StoredTotals> {
    const images = await this.db().images.count();
    if (!this.cached || performance.now() - this.cached.at > MAX_AGE_MS) {
      const totals = this.walk();
      this.cached = { at: performance.now(), totals };
      totals.catch(() => (this.cached = undefined)); // the next scrape tries again
    }
    return { images, ...(await this.cached.totals) };
  }

  private async walk(): Promise<Omit<StoredTotals, 'images'>> {
    const store = this.store();
    let chunks = 0;
    let bytes = 0;
    for await (const id of store.list()) {
      const stat = await store.stat(id);
      if (!stat) continue; // collected meanwhile
      chunks++;
      bytes += stat.storedSize;
    }
    return { chunks, bytes };
  }
}
