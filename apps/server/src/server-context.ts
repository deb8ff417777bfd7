import type { ByteBudget } from './byte-budget.js';
import type { ChangeNotifier } from './change-notifier.js';
import type { ChunkKeeper } from './chunk-keeper.js';
import type { DeltaMaker } from './delta-maker.js';
import type { ImageCatalog } from './lxd-views/image-catalog.js';
import type { ImageDeltaCache } from './lxd-views/image-delta-cache.js';
import type { MetadataStore } from './db/metadata-store.js';
import type { ServerChunkStore } from './open-storage.js';
import type { ServerConfig } from './server-config.js';
import type { ServerMetrics } from './server-metrics.js';
import type { StorageHealth } from './storage-health.js';

/** What route handlers share; built once per server in start-server.ts. */
export interface ServerContext {
  readonly config: ServerConfig;
  /** Any store that can also hand out its stored bytes (an object store can sign URLs too). */
  readonly store: ServerChunkStore;
  readonly db: MetadataStore;
  /** Keeps the chunks promised to pushes in progress safe from GC. */
  readonly keeper: ChunkKeeper;
  readonly changes: ChangeNotifier;
  readonly metrics: ServerMetrics;
  /** Makes deltas for fetches that name bases; undefined when the server answers those plain. */
  readonly deltas: DeltaMaker | undefined;
  /** Full-disk state: set by a write that fails for lack of space, cleared by one that succeeds. */
  readonly storage: StorageHealth;
  /** Request-body bytes all uploads together may hold in memory. */
  readonly uploadMemory: ByteBudget;
  /** Images and decoded manifests as the LXD views (and the deltas made for them) see them. */
  readonly catalog: ImageCatalog;
  /** Simplestreams deltas between builds; undefined without a data dir or with none asked for. */
  readonly imageDeltas: ImageDeltaCache | undefined;
  /** The served certificate's SHA-256 (lowercase hex of its DER) when serving HTTPS. */
  readonly tlsFingerprint: string | undefined;
  /** Aborted when the server starts draining. */
  readonly draining: AbortSignal;
}
