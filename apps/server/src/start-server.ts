import { once } from 'node:events';
import { InvalidInputError } from '@lxchunk/errors';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { ChunkQuarantine, ChunkReader } from '@lxchunk/store';
import { ImageNotFoundError } from '@lxchunk/errors';
import { ImageCatalog } from './lxd-views/image-catalog.js';
import { ImageDeltaCache } from './lxd-views/image-delta-cache.js';
import { makeImageDelta } from './lxd-views/make-image-delta.js';
import { ByteBudget } from './byte-budget.js';
import { ChangeNotifier } from './change-notifier.js';
import { ChunkKeeper } from './chunk-keeper.js';
import { createApp } from './create-app.js';
import { DeltaCache } from './delta-cache.js';
import { DeltaMaker } from './delta-maker.js';
import { openStorage } from './open-storage.js';
import type { ServerConfig } from './server-config.js';
import type { ServerContext } from './server-context.js';
import { serverGc } from './server-gc.js';
import { tlsFingerprint } from './server-tls.js';
import { SERVER_VERSION } from './server-version.js';
import { ServerMetrics } from './server-metrics.js';
import { StoredTotalsCache } from './stored-totals.js';
import { StorageHealth } from './storage-health.js';

export interface RunningServer {
  /** `https://…` when serving TLS. */
  readonly url: string;
  /** SHA-256 of the served certificate's DER, lowercase hex, when serving TLS: what clients pin. */
  readonly tlsFingerprint: string | undefined;
  /** Resolves when the server has drained and released its data dir. */
  readonly closed: Promise<void>;
}

/** Computed deltas, beside the chunks: a cache, safe to delete whole while the server is stopped. */
const DELTA_CACHE_DIR = 'delta-cache';

/** Simplestreams deltas between image builds: a cache too. */
const IMAGE_DELTA_DIR = 'simplestreams-deltas';

/** How long in-flight requests get to finish once draining starts before their sockets are cut. */
const DRAIN_GRACE_MS = 10_000;

/**
 * Starts a server on its data dir and listens. Aborting `signal` drains it: it stops accepting,
 * wakes long-polls, lets in-flight requests finish (up to a grace period), then closes the
 * metadata DB and releases the data dir lock.
 */
export async function startServer(config: ServerConfig, signal: AbortSignal): Promise<RunningServer> {
  // Before storage opens: a certificate that cannot be read fails the start without side effects.
  const fingerprint = config.tls ? tlsFingerprint(config.tls) : undefined;
  // The gauges are read at scrape time only, once storage is set.
  const storedTotals = new StoredTotalsCache(() => storage.db, () => storage.store);
  const metrics = new ServerMetrics(() => countQuarantined(storage.store), () => storedTotals.get(), SERVER_VERSION);
  const storage = await openStorage({
    dataDir: config.dataDir,
    chunks: config.chunks,
    metadata: config.metadata,
    fsync: config.fsync,
    onQuarantine: (chunk) => {
      metrics.chunksQuarantined.inc();
      config.logger.warn({ id: chunk.id, path: chunk.path ?? chunk.key }, 'corrupt chunk quarantined: the next push that needs it uploads it again');
    },
  });
  if (config.redirectPrivateSeconds > 0 && !storage.store.signedUrl) {
    await storage.close();
    throw new InvalidInputError('--redirect-private needs chunks in an object store (--chunks s3://…): a data directory cannot sign URLs');
  }
  const deltaCache = config.deltas && config.deltaCacheBytes > 0 && config.dataDir !== undefined ? DeltaCache.open(join(config.dataDir, DELTA_CACHE_DIR), config.deltaCacheBytes) : undefined;
  if (deltaCache) metrics.deltaCacheBytes.set(deltaCache.storedBytes);
  const drain = new AbortController();
  const catalog = new ImageCatalog(storage.db);
  const imageDeltas =
    config.dataDir !== undefined && config.simplestreamsDeltaBases > 0 && config.simplestreamsDeltaCacheBytes > 0
      ? openImageDeltas(join(config.dataDir, IMAGE_DELTA_DIR), config, storage.store, catalog, metrics, drain.signal)
      : undefined;
  // Every alias change through any server sharing the metadata wakes this one's long-polls.
  const changes = new ChangeNotifier();
  const unsubscribe = storage.db.onAliasChange(() => changes.notify());
  const context: ServerContext = {
    config,
    store: storage.store,
    db: storage.db,
    keeper: new ChunkKeeper(storage.db, storage.store, config.leaseMs),
    changes,
    metrics,
    deltas: config.deltas ? new DeltaMaker(deltaCache, metrics) : undefined,
    storage: new StorageHealth(metrics, config.logger),
    uploadMemory: new ByteBudget(config.limits.maxUploadMemoryBytes, config.limits.uploadMemoryWaitMs, (inUse, waiting) => {
      metrics.uploadMemoryBytes.set(inUse);
      metrics.uploadMemoryWaiting.set(waiting);
    }),
    catalog,
    imageDeltas,
    tlsFingerprint: fingerprint,
    draining: drain.signal,
  };
  const { requestTimeoutMs, headersTimeoutMs } = config.limits;
  const timeouts = { requestTimeout: requestTimeoutMs, headersTimeout: headersTimeoutMs };
  const app = createApp(context);
  const http = (config.tls ? createHttpsServer({ ...timeouts, cert: config.tls.cert, key: config.tls.key }, app) : createServer(timeouts, app)).listen(config.port, config.host);
  try {
    await once(http, 'listening');
  } catch (err) {
    unsubscribe();
    await storage.close();
    throw err;
  }
  http.keepAliveTimeout = 65_000;
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${address.port}`;

  const gcTimer = config.gcIntervalMs > 0 ? setInterval(() => void periodicGc(context), config.gcIntervalMs) : undefined;
  gcTimer?.unref();

  const closed = (async () => {
    if (!signal.aborted) await once(signal, 'abort');
    drain.abort();
    if (gcTimer) clearInterval(gcTimer);
    const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
    // Keep-alive connections go idle as their last responses (long-polls included) finish.
    const reap = setInterval(() => http.closeIdleConnections(), 50);
    const force = setTimeout(() => http.closeAllConnections(), DRAIN_GRACE_MS);
    await stopped;
    clearInterval(reap);
    clearTimeout(force);
    unsubscribe();
    // Closing the metadata waits for a GC pass in progress.
    await storage.close();
    config.logger.info({ url }, 'server stopped');
  })();
  config.logger.info({ url, dataDir: config.dataDir, chunks: config.chunks, metadata: storage.db.location, ...(fingerprint ? { tlsFingerprint: fingerprint } : {}) }, 'server listening');
  return { url, tlsFingerprint: fingerprint, closed };
}

function openImageDeltas(dir: string, config: ServerConfig, store: ChunkReader, catalog: ImageCatalog, metrics: ServerMetrics, signal: AbortSignal): ImageDeltaCache {
  // The manifests the listing that asked for the delta has just decoded.
  const rootfsOf = async (fingerprint: string) => {
    const file = (await catalog.manifest(fingerprint)).files.find((f) => f.role === 'rootfs');
    if (!file) throw new ImageNotFoundError(fingerprint);
    return file.index;
  };
  return ImageDeltaCache.open(
    dir,
    config.simplestreamsDeltaCacheBytes,
    async (base, target, outPath) => {
      try {
        await makeImageDelta(store, await rootfsOf(base), await rootfsOf(target), dir, outPath, signal);
      } catch (err) {
        metrics.imageDeltasMade.inc({ outcome: 'failed' });
        config.logger.warn({ base, target, error: String(err) }, 'simplestreams delta failed: LXD downloads the whole squashfs instead');
        throw err;
      }
    },
    (bytes) => metrics.imageDeltaCacheBytes.set(bytes),
    ({ base, target, info, seconds }) => {
      metrics.imageDeltasMade.inc({ outcome: info.worth ? 'listed' : 'too_large' });
      config.logger.info({ base, target, bytes: info.size, listed: info.worth, seconds }, 'simplestreams delta made');
    },
  );
}

async function countQuarantined(store: ChunkQuarantine): Promise<number> {
  let count = 0;
  for await (const _ of store.listQuarantined()) count++;
  return count;
}

async function periodicGc(context: ServerContext): Promise<void> {
  try {
    const report = await serverGc(context, false);
    context.config.logger.info({ ...report, imagesDeleted: report.imagesDeleted.length }, 'gc');
  } catch (err) {
    context.config.logger.error({ error: String(err) }, 'gc failed');
  }
}
