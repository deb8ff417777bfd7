import type { ImageType } from '@lxchunk/format';

/** Every method takes this last: aborting stops the request, its retries and any backoff wait. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface ChunkServerClientOptions {
  /** Base URL of the server, e.g. `http://127.0.0.1:8080` (a path prefix is kept: `https://h/lxchunk`). */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>`. Without it the client is anonymous. */
  readonly token?: string;
  /** Retries after the first attempt of a request that failed in a retryable way. Default 4. */
  readonly retries?: number;
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
}

export interface AliasInfo {
  readonly name: string;
  /** Fingerprint of the image the alias points at. */
  readonly target: string;
  /** Increases by 1 on every change: the compare-and-swap token. */
  readonly version: number;
  /** ISO 8601 time of the last change. */
  readonly updated: string;
}

export interface AliasHistoryEntry {
  readonly target: string;
  readonly version: number;
  /** ISO 8601. */
  readonly at: string;
}

/** What `setAlias` expects to find: a given version, or no alias at all. */
export type AliasExpectation = { readonly version: number } | { readonly absent: true };

export interface Change {
  readonly seq: number;
  readonly alias: string;
  /** Null when the alias was deleted. */
  readonly target: string | null;
  readonly version: number;
  /** ISO 8601. */
  readonly at: string;
}

export interface ChangesResult {
  /** The latest sequence number: pass it as `since` to the next call. */
  readonly seq: number;
  readonly changes: readonly Change[];
}

export interface ImageSummary {
  readonly fingerprint: string;
  readonly type: ImageType;
  readonly architecture: string;
  readonly created: string;
  readonly public: boolean;
  readonly properties: Readonly<Record<string, string>>;
  readonly size: number;
  readonly aliases: readonly string[];
}

export interface ImageFilter {
  readonly alias?: string;
  readonly architecture?: string;
  readonly properties?: Readonly<Record<string, string>>;
}

export interface GcReport {
  /** Fingerprints of the images retention deleted (or would delete, in a dry run). */
  readonly imagesDeleted: readonly string[];
  readonly chunksDeleted: number;
  readonly bytesFreed: number;
  readonly chunksKept: number;
  /** Unreferenced chunks spared by leases (announced or uploaded by pushes not yet committed). */
  readonly leased: number;
  /** When the last of those leases ends (ISO 8601); null when none, or from older servers. */
  readonly leasesEndBy: string | null;
  readonly dryRun: boolean;
}

export interface FetchChunksResult {
  /** Requested ids the server does not have (or will not show this caller), in input order. */
  readonly missing: string[];
}

export type OnChunk = (id: string, bytes: Uint8Array) => void | Promise<void>;
