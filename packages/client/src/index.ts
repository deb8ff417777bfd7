export { ChunkServerClient, MAX_MISSING_IDS, MAX_UPLOAD_BYTES, MAX_UPLOAD_CHUNKS, MAX_WAIT_SECONDS } from './chunk-server-client.js';
export { MAX_FETCH_IDS } from './chunk-batch-fetch.js';
export { RetryPolicy, DEFAULT_RETRY_FOR_MS, RETRYABLE_STATUSES, MAX_RETRY_AFTER_MS, parseRetryAfter, sleep, type RetryPolicyOptions } from './retry-policy.js';
export { ByteCounter } from './byte-counter.js';
export { forEachBounded } from '@lxchunk/errors';
export { aliasPath, assertAliasName } from './alias-name.js';
export type {
  AliasExpectation,
  AliasHistoryEntry,
  AliasInfo,
  CallOptions,
  Change,
  ChangesResult,
  ChunkServerClientOptions,
  FetchChunksOptions,
  FetchChunksResult,
  GcReport,
  ImageFilter,
  ImageSummary,
  OnChunk,
} from './types.js';
export { serverUrls } from './server-urls.js';
export { UNTRUSTED_CERT_CODES, type ClientTls } from './server-trust.js';
export { envTlsSettings, loadClientTls, type ClientTlsSettings } from './load-client-tls.js';
