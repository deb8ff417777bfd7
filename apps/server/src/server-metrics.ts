import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The server's Prometheus metrics, in a registry of its own (several servers may share a process in tests). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'lxchunk_http_requests_total',
    help: 'HTTP requests by route, method, status and code (the stable error code, or "ok")',
    labelNames: ['route', 'method', 'status', 'code'],
    registers: [this.registry],
  });
  readonly duration = new Histogram({
    name: 'lxchunk_http_request_duration_seconds',
    help: 'HTTP request duration by route and code (the stable error code, or "ok")',
    labelNames: ['route', 'code'],
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10, 60],
    registers: [this.registry],
  });
  readonly chunkBytesServed = new Counter({
    name: 'lxchunk_chunk_bytes_served_total',
    help: 'Chunk payload bytes sent (as sent: zstd or identity)',
    registers: [this.registry],
  });
  readonly chunksServed = new Counter({ name: 'lxchunk_chunks_served_total', help: 'Chunks sent', registers: [this.registry] });
  readonly chunksRedirected = new Counter({
    name: 'lxchunk_chunks_redirected_total',
    help: 'Private chunks answered with a presigned object-store URL (--redirect-private) instead of their bytes',
    registers: [this.registry],
  });
  readonly chunkBytesReceived = new Counter({
    name: 'lxchunk_chunk_bytes_received_total',
    help: 'Chunk bytes received by uploads',
    registers: [this.registry],
  });
  readonly chunksStored = new Counter({ name: 'lxchunk_chunks_stored_total', help: 'New chunks stored', registers: [this.registry] });
  readonly corruptChunks = new Counter({
    name: 'lxchunk_corrupt_chunks_total',
    help: 'Stored chunks that failed verification when read (never sent)',
    registers: [this.registry],
  });
  readonly chunksQuarantined = new Counter({
    name: 'lxchunk_chunks_quarantined_total',
    help: 'Corrupt stored chunks moved to the quarantine directory (by a read, a verify or a repairing upload)',
    registers: [this.registry],
  });
  readonly quarantinedChunks: Gauge;
  readonly storageFull = new Gauge({
    name: 'lxchunk_storage_full',
    help: '1 while writes to the data dir fail for lack of space (cleared by the next write that succeeds)',
    registers: [this.registry],
  });
  readonly storageFullErrors = new Counter({
    name: 'lxchunk_storage_full_errors_total',
    help: 'Writes that failed for lack of space (ENOSPC, EDQUOT, SQLITE_FULL), answered 507',
    registers: [this.registry],
  });
  readonly uploadMemoryBytes = new Gauge({
    name: 'lxchunk_upload_memory_bytes',
    help: 'Request-body bytes uploads hold in memory now (taken from the upload budget)',
    registers: [this.registry],
  });
  readonly uploadMemoryWaiting = new Gauge({
    name: 'lxchunk_upload_memory_waiting',
    help: 'Uploads waiting for room in the upload budget',
    registers: [this.registry],
  });
  readonly deltasServed = new Counter({
    name: 'lxchunk_deltas_served_total',
    help: 'Chunks sent as a delta against bases the client named',
    registers: [this.registry],
  });
  readonly deltaBytesServed = new Counter({
    name: 'lxchunk_delta_bytes_served_total',
    help: 'Delta payload bytes sent (counted in lxchunk_chunk_bytes_served_total too)',
    registers: [this.registry],
  });
  readonly deltasDeclined = new Counter({
    name: 'lxchunk_deltas_declined_total',
    help: 'Chunks asked for with bases but sent plain, by reason',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly deltasComputed = new Counter({ name: 'lxchunk_deltas_computed_total', help: 'Deltas computed (cache misses)', registers: [this.registry] });
  readonly deltaComputeSeconds = new Counter({
    name: 'lxchunk_delta_compute_seconds_total',
    help: 'Time spent computing deltas, on the event loop (one core); divided by lxchunk_deltas_computed_total, the cost of one',
    registers: [this.registry],
  });
  readonly deltaCacheHits = new Counter({ name: 'lxchunk_delta_cache_hits_total', help: 'Delta answers found in the delta cache', registers: [this.registry] });
  readonly deltaCacheMisses = new Counter({ name: 'lxchunk_delta_cache_misses_total', help: 'Delta answers computed afresh', registers: [this.registry] });
  readonly deltaCacheBytes = new Gauge({ name: 'lxchunk_delta_cache_bytes', help: 'Bytes the delta cache holds on disk', registers: [this.registry] });
  readonly bytesServed = new Counter({
    name: 'lxchunk_bytes_served_total',
    help: 'Bytes written to callers (headers included), by the protocol they spoke: lxchunk (/v1), lxd (/1.0), simplestreams (/streams)',
    labelNames: ['protocol'],
    registers: [this.registry],
  });
  readonly imageDeltasMade = new Counter({
    name: 'lxchunk_simplestreams_deltas_made_total',
    help: 'xdelta3 deltas between image builds made for simplestreams, by outcome (listed, too_large, failed)',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly imageDeltasServed = new Counter({
    name: 'lxchunk_simplestreams_deltas_served_total',
    help: 'Simplestreams delta items sent (a host that held the base and got the delta instead of the squashfs)',
    registers: [this.registry],
  });
  readonly imageDeltaCacheBytes = new Gauge({ name: 'lxchunk_simplestreams_delta_cache_bytes', help: 'Bytes of simplestreams deltas kept on disk', registers: [this.registry] });
  readonly gcLastRun = new Gauge({
    name: 'lxchunk_gc_last_run_timestamp_seconds',
    help: 'When the last garbage collection pass (not a dry run) finished, Unix time; 0 before the first',
    registers: [this.registry],
  });
  readonly gcLastDuration = new Gauge({
    name: 'lxchunk_gc_last_duration_seconds',
    help: 'How long the last garbage collection pass (not a dry run) took',
    registers: [this.registry],
  });
  readonly gcRuns = new Counter({ name: 'lxchunk_gc_runs_total', help: 'Garbage collection passes', registers: [this.registry] });
  readonly gcBytesFreed = new Counter({ name: 'lxchunk_gc_bytes_freed_total', help: 'Bytes freed by GC', registers: [this.registry] });

  /**
   * `countQuarantined` is asked at each scrape: operators remove quarantined files by hand once
   * examined. `stored` is asked at scrapes too; it may answer from a cache.
   */
  constructor(
    countQuarantined: () => Promise<number> = async () => 0,
    stored: () => Promise<StoredTotals> = async () => ({ images: 0, chunks: 0, bytes: 0 }),
    version = 'unknown',
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'lxchunk_' });
    this.quarantinedChunks = new Gauge({
      name: 'lxchunk_quarantined_chunks',
      help: 'Corrupt chunk copies held in the quarantine directory now',
      registers: [this.registry],
      async collect() {
        this.set(await countQuarantined());
      },
    });
    const storedGauge = (name: string, help: string, key: keyof StoredTotals) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        async collect() {
          this.set((await stored())[key]);
        },
      });
    storedGauge('lxchunk_stored_images', 'Images stored', 'images');
    storedGauge('lxchunk_stored_chunks', 'Chunk files stored (referenced or not; counted at most once a minute)', 'chunks');
    storedGauge('lxchunk_stored_chunk_bytes', 'Bytes of chunk files stored, as stored (counted at most once a minute)', 'bytes');
    new Gauge({ name: 'lxchunk_build_info', help: 'The running server build; always 1', labelNames: ['version'], registers: [this.registry] }).set({ version }, 1);
  }

  /** A garbage collection pass that was not a dry run finished. */
  gcPassed(report: { readonly bytesFreed: number }, seconds: number): void {
    this.gcRuns.inc();
    this.gcBytesFreed.inc(report.bytesFreed);
    this.gcLastRun.set(Date.now() / 1000);
    this.gcLastDuration.set(seconds);
  }
}

export interface StoredTotals {
  readonly images: number;
  readonly chunks: number;
  readonly bytes: number;
}
