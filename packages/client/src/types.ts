import type { AliasChange, DeltaBaseSource } from '@lxchunk/format';
import type { ClientTls } from './server-trust.js';

// The response shapes are the wire contract's (@lxchunk/format); re-exported so importers of the
// client keep working.
export type { AliasExpectation, AliasHistoryEntry, AliasInfo, ChangesResult, GcReport, ImageSummary } from '@lxchunk/format';
/** One change-feed entry (the contract's AliasChange). */
export type Change = AliasChange;

/** Every method takes this last: aborting stops the request, its retries and any backoff wait. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface ChunkServerClientOptions {
  /**
   * Base URL of the server, e.g. `http://127.0.0.1:8080` (a path prefix is kept: `https://h/lxchunk`).
   * Several URLs are replicas of one server (shared storage): requests go to the first that
   * answers, and move on to the next when one fails in a retryable way.
   */
  readonly url: string | readonly string[];
  /** Sent as `Authorization: Bearer <token>`. Without it the client is anonymous. */
  readonly token?: string;
  /** Retries after the first attempt of a request that failed in a retryable way. Default: as many as `retryForMs` allows. */
  readonly retries?: number;
  /**
   * How long after its first failure a request is still retried, e.g. while a server restarts.
   * Default 60 000 ms; 0 makes every request a single attempt.
   */
  readonly retryForMs?: number;
  /** First backoff delay; doubles on every retry, with jitter. Default 200 ms. */
  readonly retryBaseMs?: number;
  /** Batches of `fetchChunks`/`missingChunks` in flight at once. Default 4. */
  readonly concurrency?: number;
  /** Default `lxchunk-client/<version> node/<version>`. */
  readonly userAgent?: string;
  /**
   * Longest wait for a response's headers, and longest silence inside a response body, for
   * ordinary requests. Long-polls (`changes`) and `gc` get more. Default 120 000 ms.
   */
  readonly timeoutMs?: number;
  /**
   * `putChunk` sends the chunk zstd-compressed (`Content-Encoding: zstd`) when that saves at
   * least 3% (the store's own rule), so `bytesSent` is what actually crosses the wire.
   * Default true.
   */
  readonly compressUploads?: boolean;
  /**
   * Which certificates an `https://` server may present: by default any the system's CAs vouch
   * for (host name checked); with `ca`, those this PEM bundle vouches for instead; with
   * `fingerprint`, exactly that certificate (self-signed allowed, host name not checked; it
   * decides alone). Anything else fails with TLS_UNTRUSTED, never retried. Presigned
   * object-store URLs the server redirects to keep the system's CAs.
   */
  readonly tls?: ClientTls;
}

export interface ImageFilter {
  readonly alias?: string;
  readonly architecture?: string;
  readonly properties?: Readonly<Record<string, string>>;
}

/** fetchChunks' options: with `deltaBases`, chunks may come as deltas against chunks the caller holds. */
export interface FetchChunksOptions extends CallOptions {
  readonly deltaBases?: DeltaBaseSource;
}

export interface FetchChunksResult {
  /** Requested ids the server does not have (or will not show this caller), in input order. */
  readonly missing: string[];
}

export type OnChunk = (id: string, bytes: Uint8Array) => void | Promise<void>;
