import { PROTOCOL_LIMITS } from '@lxchunk/format';
import { createServerLogger, type Logger } from './server-logger.js';
import type { ServerTls } from './server-tls.js';

/** Everything a server instance needs to know; the CLI builds it from flags. */
export interface ServerConfig {
  /** Filesystem chunks and SQLite metadata unless `chunks` / `metadata` name shared backends; the delta cache. */
  readonly dataDir?: string | undefined;
  /** `s3://BUCKET[/PREFIX]`: chunks in an S3-compatible object store. */
  readonly chunks?: string | undefined;
  /** `postgres://…`: metadata in PostgreSQL (any number of servers may share both). */
  readonly metadata?: string | undefined;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Anonymous callers may read public images. */
  readonly anonymousRead: boolean;
  /** How long a chunk uploaded or re-announced by a push is safe from GC without a manifest. */
  readonly leaseMs: number;
  /** Periodic retention + GC; 0 disables it. */
  readonly gcIntervalMs: number;
  /** Images kept per alias (the newest distinct targets in its history). */
  readonly retentionKeep: number;
  /** fsync chunk files before acknowledging them. */
  readonly fsync: boolean;
  /** Answer fetches that name bases with deltas against them (when the caller may read the bases). */
  readonly deltas: boolean;
  /** Bytes of computed deltas kept on disk (`<dataDir>/delta-cache`); 0 keeps none. */
  readonly deltaCacheBytes: number;
  /**
   * Answer reads of private chunks with presigned object-store URLs valid this long (seconds),
   * after the access check, so their bytes do not pass through the server; 0: serve them.
   */
  readonly redirectPrivateSeconds: number;
  /** Simplestreams: delta items on an alias's newest build from this many builds before it; 0: none. */
  readonly simplestreamsDeltaBases: number;
  /** Bytes of simplestreams deltas kept on disk (`<dataDir>/simplestreams-deltas`). */
  readonly simplestreamsDeltaCacheBytes: number;
  /** How long a products listing waits for deltas being made (the rest are listed later). */
  readonly simplestreamsDeltaWaitMs: number;
  readonly limits: ServerLimits;
  /** Serve HTTPS with this certificate (resolveServerTls loads or makes it); plain HTTP without. */
  readonly tls?: ServerTls | undefined;
  /** Structured log (pino): one JSON line per entry, access lines included. */
  readonly logger: Logger;
}

export interface ServerLimits {
  readonly maxChunkBytes: number;
  readonly maxManifestBytes: number;
  readonly maxFetchIds: number;
  /** One `POST /v1/chunks/upload` batch: its body, and its frames. */
  readonly maxUploadBytes: number;
  readonly maxUploadChunks: number;
  readonly maxMissingIds: number;
  readonly maxJsonBytes: number;
  readonly maxWaitSeconds: number;
  /**
   * Request-body bytes all uploads together may hold in memory (chunk PUTs, batches, manifests).
   * Resident memory can reach about twice this while chunks are compressed and written.
   */
  readonly maxUploadMemoryBytes: number;
  /** How long an upload waits for that memory before it is refused with 503 and Retry-After. */
  readonly uploadMemoryWaitMs: number;
  /** A request body that sends nothing for this long is answered 408 and its connection closed; 0 disables. */
  readonly bodyIdleTimeoutMs: number;
  /** Node's limits on the whole request and on its headers (Node answers 408 itself). */
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
}

/** The API's limits as the client knows them (clients send about 8 MiB per upload batch), plus the server's own. */
export const DEFAULT_LIMITS: ServerLimits = Object.freeze({
  ...PROTOCOL_LIMITS,
  // One largest frame and more, or many of the ~8 MiB batches clients send. Six concurrent 64 MiB
  // frames peaked at ~390 MB RSS with this (570 MB unbounded): each frame in flight costs ~4x its
  // size (decoder buffer, copy, zstd attempt, socket pieces not yet collected).
  maxUploadMemoryBytes: 128 * 1024 * 1024,
  uploadMemoryWaitMs: 30_000,
  bodyIdleTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
  headersTimeoutMs: 60_000,
});

export function serverConfig(partial: Partial<ServerConfig>): ServerConfig {
  return {
    host: '127.0.0.1',
    port: 8080,
    anonymousRead: true,
    leaseMs: 24 * 3600 * 1000,
    gcIntervalMs: 6 * 3600 * 1000,
    retentionKeep: 3,
    fsync: true,
    deltas: true,
    deltaCacheBytes: 1024 * 1024 * 1024,
    redirectPrivateSeconds: 0,
    simplestreamsDeltaBases: 3,
    simplestreamsDeltaCacheBytes: 4 * 1024 * 1024 * 1024,
    simplestreamsDeltaWaitMs: 30_000,
    limits: DEFAULT_LIMITS,
    logger: partial.logger ?? createServerLogger(),
    ...partial,
  };
}
