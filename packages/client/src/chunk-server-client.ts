import { assertHex64 } from '@lxchunk/chunker';
import { InvalidInputError, ProtocolError, isLxchunkError } from '@lxchunk/errors';
import {
  BATCH_CONTENT_TYPE,
  CLIENT_ACCEPT_ENCODING,
  ChunkEncoder,
  FrameStatus,
  IMAGE_CHUNKS_MISSING_HEADER,
  MANIFEST_BASE_HEADER,
  MANIFEST_DICT_MEDIA_TYPE,
  MAX_MANIFEST_BYTES,
  PROTOCOL_LIMITS,
  batchStreamBytes,
  decodeChunk,
  decodeManifest,
  encodeBatchEnd,
  encodeBatchStart,
  encodeFrameHeader,
  inflateZstdFrame,
  type ImageManifest,
  type VerifyProgress,
  type VerifyReport,
} from '@lxchunk/format';
import { aliasPath, assertAliasName } from './alias-name.js';
import { forEachBounded } from '@lxchunk/errors';
import { ByteCounter } from './byte-counter.js';
import { DeltaState, MAX_FETCH_IDS, RedirectState, fetchBatch } from './chunk-batch-fetch.js';
import { STORED_CHUNK_BODY_LIMIT, storedChunkEncoding } from './stored-chunk-body.js';
import { HttpTransport, followsUncertainAttempt, type HttpResponse, type RequestSpec } from './http-transport.js';
import { asAlias, asAliasList, asChanges, asGcReport, asHistory, asImageList, asMissing, asUploadReport, parseJson } from './responses.js';
import { RetryPolicy } from './retry-policy.js';
import { readVerifyStream } from './verify-stream.js';
import type {
  AliasExpectation,
  AliasHistoryEntry,
  AliasInfo,
  CallOptions,
  ChangesResult,
  ChunkServerClientOptions,
  FetchChunksOptions,
  FetchChunksResult,
  GcReport,
  ImageFilter,
  ImageSummary,
  OnChunk,
} from './types.js';

/** The API's limit on ids per missing-check request. */
export const MAX_MISSING_IDS = PROTOCOL_LIMITS.maxMissingIds;
/**
 * One putChunks call: the server's per-batch limits. Its byte limit counts the whole body, so the
 * chunk bytes get what the framing of a full batch leaves (a frame's payload is never larger than
 * its chunk: zstd is kept only when smaller).
 */
export const MAX_UPLOAD_CHUNKS = PROTOCOL_LIMITS.maxUploadChunks;
export const MAX_UPLOAD_BYTES = PROTOCOL_LIMITS.maxUploadBytes - batchStreamBytes(MAX_UPLOAD_CHUNKS, 0);
/** Longest long-poll the API allows. */
export const MAX_WAIT_SECONDS = PROTOCOL_LIMITS.maxWaitSeconds;

const CLIENT_VERSION = '0.1.0';
const DEFAULT_TIMEOUT_MS = 120_000;
/** A long-poll answers after at most `wait` seconds; this much more is allowed for the network. */
const LONG_POLL_MARGIN_MS = 30_000;
/** GC walks the whole store; its report can take a while. */
const GC_TIMEOUT_MS = 60 * 60 * 1000;
/** JSON answers are small; this bounds what a broken or hostile server can make us buffer. */
const JSON_LIMIT = 256 * 1024 * 1024;

/** A server URL as the client uses it (no trailing slash), or a clear INVALID_INPUT. */
function checkServerUrl(url: string): string {
  let base: URL;
  try {
    base = new URL(url);
  } catch (cause) {
    throw new InvalidInputError(`server URL ${JSON.stringify(url)} is not a URL`, { cause });
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new InvalidInputError(`server URL must be http or https, got ${JSON.stringify(url)}`);
  }
  if (base.search || base.hash || base.username || base.password) {
    throw new InvalidInputError(`server URL must not carry a query, fragment or credentials: ${JSON.stringify(url)}`);
  }
  return base.href.replace(/\/+$/, '');
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' } as const;

/**
 * Client of the lxchunk server HTTP API (apps/server/API.md).
 *
 * Errors: a non-2xx answer becomes the server's own error (same code, message and details, via
 * `errorFromBody`); a network failure (refused, reset, timed out) is UNAVAILABLE with the URL in
 * the message and the original error as `cause`; an answer that does not follow the API is
 * PROTOCOL_ERROR.
 *
 * Retries (exponential backoff with jitter, see RetryPolicy; any wait ends when the signal
 * aborts) happen only after network failures and 429, 502, 503, 504, never after another status.
 * Reads, chunk uploads, missing-checks, manifest puts and deletes are repeated after any of
 * these: they are idempotent. Two operations are special:
 * - `setAlias` is a compare-and-swap. It is repeated with the same precondition, which cannot
 *   clobber a concurrent writer; but after an attempt whose outcome is unknown (the connection
 *   broke after the request was sent, or a gateway answered 502/504) the retry may be refused
 *   with 412 because of our own earlier success. Such a 412 whose `details.current.target` is the
 *   target we set is taken as success, and the alias is re-read to return its current state.
 *   Any other 412 is thrown as PRECONDITION_FAILED.
 * - `gc` is repeated only when the server certainly did not run it (the connection could not be
 *   made, or 429/503). `verify` is never repeated: its progress has already been reported.
 */
export class ChunkServerClient {
  /** The first server URL: the one that names this server (e.g. in what the agent marks as imported from it). */
  readonly url: string;
  /** Every replica's URL, in the order they are tried. */
  readonly urls: readonly string[];
  private readonly counter = new ByteCounter();
  private readonly deltas = new DeltaState();
  private readonly redirects = new RedirectState();
  private readonly transport: HttpTransport;
  private readonly concurrency: number;
  /** Set while uploads are compressed; dropped for good once the server refuses a zstd body. */
  private encoder: ChunkEncoder | undefined;
  /** Dropped for good once the server says it has no batched upload endpoint. */
  private batchUploads = true;

  constructor(options: ChunkServerClientOptions) {
    const urls = (typeof options.url === 'string' ? [options.url] : [...options.url]).map(checkServerUrl);
    if (urls.length === 0) throw new InvalidInputError('no server URL given');
    if (options.token !== undefined && (options.token === '' || /[\s\x00-\x1f]/.test(options.token))) {
      throw new InvalidInputError('token must be a non-empty string without whitespace');
    }
    this.concurrency = options.concurrency ?? 4;
    if (!Number.isSafeInteger(this.concurrency) || this.concurrency < 1) {
      throw new InvalidInputError(`concurrency must be a positive integer, got ${String(options.concurrency)}`);
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new InvalidInputError(`timeoutMs must be a positive number, got ${String(options.timeoutMs)}`);
    }
    this.url = urls[0]!;
    this.urls = urls;
    this.transport = new HttpTransport({
      urls,
      token: options.token,
      userAgent: options.userAgent ?? `lxchunk-client/${CLIENT_VERSION} node/${process.version}`,
      timeoutMs,
      policy: new RetryPolicy({
        ...(options.retries !== undefined ? { retries: options.retries } : {}),
        ...(options.retryForMs !== undefined ? { retryForMs: options.retryForMs } : {}),
        baseMs: options.retryBaseMs ?? 200,
      }),
      counter: this.counter,
      tls: options.tls,
    });
    this.encoder = options.compressUploads === false ? undefined : new ChunkEncoder();
  }

  /** Whether requests carry a token: without one, private images and their aliases are invisible. */
  get hasToken(): boolean {
    return this.transport.hasToken;
  }

  /** Every byte of every response body received so far (JSON, manifests, chunks as sent, batch framing). */
  get bytesReceived(): number {
    return this.counter.received;
  }

  /** Chunks fetchChunks received as deltas against bases the caller offered (and decoded, verified). */
  get chunksAsDeltas(): number {
    return this.deltas.chunksAsDeltas;
  }

  /** Delta answers that could not be used here (a base not intact locally) and were fetched plain. */
  get deltasRefetched(): number {
    return this.deltas.deltasRefetched;
  }

  /** Request body bytes of every attempt that reached the server (a retried upload counts again). */
  get bytesSent(): number {
    return this.counter.sent;
  }

  /** Closes the keep-alive connections. The client is unusable afterwards. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  /**
   * True iff the server answers `GET /healthz` with 200 `{"ok": true}`. False when it is draining
   * (503) or cannot be reached. One attempt, no retries: a health check reports, it does not wait.
   */
  async health(options: CallOptions = {}): Promise<boolean> {
    try {
      const response = await this.transport.call({ method: 'GET', path: '/healthz', retry: 'none', signal: options.signal });
      return (parseJson(response, 'GET /healthz') as { ok?: unknown } | null)?.ok === true;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (isLxchunkError(err) && (err.code === 'UNAVAILABLE' || err.code === 'PROTOCOL_ERROR' || err.code === 'DATA_DIR_LOCKED')) {
        return false;
      }
      throw err;
    }
  }

  // --- chunks ---

  /**
   * The ids among `ids` the server does not hold, deduplicated, in the order of first occurrence.
   * Sent in batches of at most MAX_MISSING_IDS (up to `concurrency` at once). The server renews
   * the GC lease of every id it has.
   */
  async missingChunks(ids: readonly string[], options: CallOptions = {}): Promise<string[]> {
    const unique = uniqueIds(ids);
    const batches = split(unique, MAX_MISSING_IDS);
    const results: string[][] = new Array<string[]>(batches.length);
    await forEachBounded(
      batches,
      this.concurrency,
      async (batch, index, signal) => {
        const response = await this.transport.call({
          method: 'POST',
          path: '/v1/chunks/missing',
          headers: JSON_HEADERS,
          body: jsonBody({ ids: batch }),
          retry: 'idempotent',
          maxBodyBytes: JSON_LIMIT,
          signal,
        });
        results[index] = asMissing(parseJson(response, 'POST /v1/chunks/missing'), batch);
      },
      options.signal,
    );
    return results.flat();
  }

  /**
   * Uploads one chunk (zstd-compressed on the wire when that pays, unless `compressUploads` is
   * false; if the server refuses a zstd body, with 415 or INVALID_INPUT, the chunk is sent raw
   * and so is every later one). `stored` is true when the server stored it (201), false when it already had it (200).
   * Bytes that do not hash to `id` are refused by the server with HASH_MISMATCH.
   */
  async putChunk(id: string, bytes: Uint8Array, options: CallOptions = {}): Promise<{ stored: boolean }> {
    assertHex64(id);
    assertChunkBytes(id, bytes);
    const encoded = this.encoder?.encode(bytes);
    if (encoded?.encoding === 'zstd') {
      try {
        return await this.sendChunk(id, encoded.stored, 'zstd', options);
      } catch (err) {
        // A server that cannot take zstd bodies says so with 415 or INVALID_INPUT (the id was
        // checked here, so nothing else about this request can be invalid): send raw from now on.
        if (!(isLxchunkError(err, 'INVALID_INPUT') || isLxchunkError(err, 'PROTOCOL_ERROR'))) throw err;
        this.encoder = undefined;
      }
    }
    return this.sendChunk(id, bytes, 'identity', options);
  }

  /**
   * Uploads many chunks in one `POST /v1/chunks/upload`, each zstd on the wire when that pays:
   * at most MAX_UPLOAD_CHUNKS and MAX_UPLOAD_BYTES of chunk bytes per call (about 8 MiB makes a
   * good batch). One request instead of one per chunk. `stored` counts the chunks new to the
   * server. A server from before batched uploads (NOT_FOUND) gets one PUT per chunk instead.
   */
  async putChunks(chunks: ReadonlyArray<{ readonly id: string; readonly bytes: Uint8Array }>, options: CallOptions = {}): Promise<{ stored: number }> {
    if (chunks.length > MAX_UPLOAD_CHUNKS) throw new InvalidInputError(`at most ${MAX_UPLOAD_CHUNKS} chunks per upload, got ${chunks.length}`);
    let total = 0;
    for (const { id, bytes } of chunks) {
      assertHex64(id);
      assertChunkBytes(id, bytes);
      total += bytes.length;
    }
    if (total > MAX_UPLOAD_BYTES) throw new InvalidInputError(`at most ${MAX_UPLOAD_BYTES} chunk bytes per upload, got ${total}`);
    if (chunks.length === 0) return { stored: 0 };
    if (this.batchUploads) {
      const parts: Uint8Array[] = [encodeBatchStart()];
      for (const { id, bytes } of chunks) {
        const encoded = this.encoder?.encode(bytes);
        const zstd = encoded?.encoding === 'zstd';
        const payload = zstd ? encoded.stored : bytes;
        parts.push(encodeFrameHeader(id, zstd ? FrameStatus.zstd : FrameStatus.identity, payload.length), payload);
      }
      parts.push(encodeBatchEnd());
      try {
        const response = await this.transport.call({
          method: 'POST',
          path: '/v1/chunks/upload',
          headers: { 'content-type': BATCH_CONTENT_TYPE },
          body: Buffer.concat(parts),
          // Storing a chunk twice is harmless: a batch may be sent again whole.
          retry: 'idempotent',
          maxBodyBytes: JSON_LIMIT,
          signal: options.signal,
        });
        if (response.status !== 200) throw unexpectedStatus(response, 'POST chunk upload', '200');
        return asUploadReport(parseJson(response, 'POST /v1/chunks/upload'), chunks.length);
      } catch (err) {
        if (!isLxchunkError(err, 'NOT_FOUND')) throw err;
        this.batchUploads = false;
      }
    }
    let stored = 0;
    for (const { id, bytes } of chunks) if ((await this.putChunk(id, bytes, options)).stored) stored++;
    return { stored };
  }

  private async sendChunk(
    id: string,
    body: Uint8Array,
    encoding: 'zstd' | 'identity',
    options: CallOptions,
  ): Promise<{ stored: boolean }> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (encoding === 'zstd') headers['content-encoding'] = 'zstd';
    const response = await this.transport.call({
      method: 'PUT',
      path: `/v1/chunks/${id}`,
      headers,
      body,
      retry: 'idempotent',
      maxBodyBytes: JSON_LIMIT,
      signal: options.signal,
    });
    if (response.status !== 200 && response.status !== 201) throw unexpectedStatus(response, 'PUT chunk', '200 or 201');
    return { stored: response.status === 201 };
  }

  /**
   * One chunk's bytes, verified against its id (a mismatch is retried once, then CHUNK_CORRUPT:
   * bad bytes are never returned). CHUNK_NOT_FOUND when absent or not readable by this caller.
   */
  async getChunk(id: string, options: CallOptions = {}): Promise<Uint8Array> {
    assertHex64(id);
    const spec: RequestSpec = {
      method: 'GET',
      path: `/v1/chunks/${id}`,
      headers: { 'accept-encoding': CLIENT_ACCEPT_ENCODING },
      retry: 'idempotent',
      maxBodyBytes: STORED_CHUNK_BODY_LIMIT,
      signal: options.signal,
      redirects: true,
    };
    for (let attempt = 1; ; attempt++) {
      let response = await this.transport.call(spec);
      // A private chunk of a server with --redirect-private: its bytes come from the object store.
      const location = response.status >= 300 ? response.headers.location : undefined;
      if (location !== undefined) response = await this.transport.getExternal(String(location), { maxBodyBytes: STORED_CHUNK_BODY_LIMIT, signal: options.signal });
      const encoding = storedChunkEncoding(response, `GET ${this.transport.url(spec)}`);
      try {
        return decodeChunk(id, encoding, response.body);
      } catch (err) {
        if (attempt >= 2 || !isLxchunkError(err, 'CHUNK_CORRUPT')) throw err;
      }
    }
  }

  /**
   * Fetches many chunks through `POST /v1/chunks/fetch`: batches of at most 4096 ids, up to
   * `concurrency` in flight, zstd on the wire, decoded as the stream arrives. Every chunk is
   * verified before `onChunk` sees it (a corrupt copy is asked for once more, then CHUNK_CORRUPT).
   * `onChunk` is awaited before more of that batch is read, and is called exactly once per
   * delivered id: in request order within a batch, but calls from different batches may run
   * concurrently. `bytes` belong to the callee. A batch that breaks off is retried for the ids not
   * yet delivered. Duplicate ids are fetched once. An error from `onChunk` stops everything and
   * is rethrown as is. With `deltaBases`, a chunk may arrive as a delta against bases it names;
   * it is decoded with the caller's verified copies and verified like any other, and fetched
   * plain when that fails. A server older than deltas is asked again without bases.
   */
  async fetchChunks(ids: readonly string[], onChunk: OnChunk, options: FetchChunksOptions = {}): Promise<FetchChunksResult> {
    const unique = uniqueIds(ids);
    const missing = new Set<string>();
    const { deltaBases } = options;
    await forEachBounded(
      split(unique, MAX_FETCH_IDS),
      this.concurrency,
      async (batch, _index, signal) => {
        const context = { transport: this.transport, onChunk, signal, deltas: this.deltas, redirects: this.redirects, ...(deltaBases ? { deltaBases } : {}) };
        for (const id of await fetchBatch(context, batch)) missing.add(id);
      },
      options.signal,
    );
    return { missing: unique.filter((id) => missing.has(id)) };
  }

  // --- images ---

  /** Stores a manifest (`encodeManifest` bytes): 'created' (201) or 'exists' (200, same bytes already there). */
  async putManifest(fingerprint: string, bytes: Uint8Array, options: CallOptions = {}): Promise<'created' | 'exists'> {
    assertHex64(fingerprint, 'fingerprint');
    if (!(bytes instanceof Uint8Array)) throw new InvalidInputError('manifest bytes must be a Uint8Array');
    const response = await this.transport.call({
      method: 'PUT',
      path: `/v1/images/${fingerprint}`,
      headers: JSON_HEADERS,
      body: bytes,
      // The same manifest again is a 200: a retry after a lost answer reports 'exists'.
      retry: 'idempotent',
      maxBodyBytes: JSON_LIMIT,
      signal: options.signal,
    });
    if (response.status === 201) return 'created';
    if (response.status === 200) return 'exists';
    throw unexpectedStatus(response, 'PUT manifest', '200 or 201');
  }

  /**
   * The manifest as stored, decoded and validated; its fingerprint must be the one asked for.
   * With `base` (the exact bytes of a manifest this host already holds, as the server sent them)
   * the server compresses against it, and the answer costs about the index entries that changed.
   * `base` in the result says whether it was used.
   */
  async getManifest(
    fingerprint: string,
    options: CallOptions & { base?: { fingerprint: string; bytes: Uint8Array } } = {},
  ): Promise<{ manifest: ImageManifest; bytes: Uint8Array; base?: string }> {
    assertHex64(fingerprint, 'fingerprint');
    const base = options.base;
    if (base) assertHex64(base.fingerprint, 'base fingerprint');
    const spec: RequestSpec = {
      method: 'GET',
      path: `/v1/images/${fingerprint}${base ? `?base=${base.fingerprint}` : ''}`,
      headers: { accept: base ? `${MANIFEST_DICT_MEDIA_TYPE}, application/json;q=0.9` : 'application/json', 'accept-encoding': CLIENT_ACCEPT_ENCODING },
      retry: 'idempotent',
      maxBodyBytes: MAX_MANIFEST_BYTES,
      signal: options.signal,
    };
    const response = await this.transport.call(spec);
    const encoding = response.headers['content-encoding'];
    const type = String(response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const usedBase = response.headers[MANIFEST_BASE_HEADER];
    if (usedBase !== undefined && (typeof usedBase !== 'string' || usedBase !== base?.fingerprint)) {
      throw new ProtocolError(`GET ${this.transport.url(spec)}: compressed against ${JSON.stringify(usedBase)}, which was not offered`);
    }
    const fail = (reason: string, cause?: unknown) => new ProtocolError(`GET ${this.transport.url(spec)}: manifest body: ${reason}`, { cause });
    let body = response.body;
    if (type === MANIFEST_DICT_MEDIA_TYPE) {
      if (!usedBase) throw fail(`${MANIFEST_DICT_MEDIA_TYPE} without the ${MANIFEST_BASE_HEADER} header`);
      if (encoding !== undefined && encoding !== 'identity') throw fail(`unexpected content-encoding ${JSON.stringify(encoding)}`);
      body = inflateZstdFrame(body, MAX_MANIFEST_BYTES, fail, base!.bytes);
    } else if (encoding === 'zstd') {
      // Servers before the dictionary media type labelled that body Content-Encoding: zstd with the base header.
      body = inflateZstdFrame(body, MAX_MANIFEST_BYTES, fail, usedBase ? base!.bytes : undefined);
    } else if (encoding !== undefined && encoding !== 'identity') {
      throw new ProtocolError(`GET ${this.transport.url(spec)}: unexpected content-encoding ${JSON.stringify(encoding)}`);
    }
    let manifest: ImageManifest;
    try {
      manifest = decodeManifest(body);
    } catch (cause) {
      throw new ProtocolError(`GET ${this.transport.url(spec)}: ${(cause as Error).message}`, { cause });
    }
    if (manifest.fingerprint !== fingerprint) {
      throw new ProtocolError(`GET ${this.transport.url(spec)}: answered the manifest of ${manifest.fingerprint}`);
    }
    return { manifest, bytes: body, ...(usedBase ? { base: usedBase } : {}) };
  }

  /**
   * Whether the server holds the image, and how many of its chunks it lacks now (undefined from
   * servers that do not say). Asked before a push sends the manifest again.
   */
  async imageState(fingerprint: string, options: CallOptions = {}): Promise<{ stored: false } | { stored: true; chunksMissing: number | undefined }> {
    assertHex64(fingerprint, 'fingerprint');
    const spec: RequestSpec = { method: 'HEAD', path: `/v1/images/${fingerprint}`, retry: 'idempotent', signal: options.signal };
    try {
      const response = await this.transport.call(spec);
      const header = response.headers[IMAGE_CHUNKS_MISSING_HEADER];
      const count = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
      return { stored: true, chunksMissing: count };
    } catch (err) {
      if (isLxchunkError(err, 'IMAGE_NOT_FOUND') || isLxchunkError(err, 'NOT_FOUND')) return { stored: false };
      throw err;
    }
  }

  async listImages(filter: ImageFilter = {}, options: CallOptions = {}): Promise<ImageSummary[]> {
    const query = new URLSearchParams();
    if (filter.alias !== undefined) query.set('alias', filter.alias);
    if (filter.architecture !== undefined) query.set('architecture', filter.architecture);
    for (const [key, value] of Object.entries(filter.properties ?? {})) query.append(`property.${key}`, value);
    const response = await this.transport.call({
      method: 'GET',
      path: '/v1/images',
      query,
      headers: { accept: 'application/json' },
      retry: 'idempotent',
      maxBodyBytes: JSON_LIMIT,
      signal: options.signal,
    });
    return asImageList(parseJson(response, 'GET /v1/images'));
  }

  /** Deletes an image (admin). IMAGE_IN_USE while an alias targets it. */
  async deleteImage(fingerprint: string, options: CallOptions = {}): Promise<void> {
    assertHex64(fingerprint, 'fingerprint');
    try {
      await this.transport.call({ method: 'DELETE', path: `/v1/images/${fingerprint}`, retry: 'idempotent', signal: options.signal });
    } catch (err) {
      // A retry that finds it gone after an attempt whose answer was lost: that attempt deleted it.
      if (isLxchunkError(err, 'IMAGE_NOT_FOUND') && followsUncertainAttempt(err)) return;
      throw err;
    }
  }

  // --- aliases ---

  /** The alias, or undefined when it does not exist (or its target is not readable by this caller). */
  async getAlias(name: string, options: CallOptions = {}): Promise<AliasInfo | undefined> {
    try {
      const response = await this.transport.call({
        method: 'GET',
        path: aliasPath(name),
        headers: { accept: 'application/json' },
        retry: 'idempotent',
        maxBodyBytes: JSON_LIMIT,
        signal: options.signal,
      });
      return asAlias(parseJson(response, 'GET alias'));
    } catch (err) {
      if (isLxchunkError(err, 'ALIAS_NOT_FOUND')) return undefined;
      throw err;
    }
  }

  async listAliases(options: CallOptions = {}): Promise<AliasInfo[]> {
    const response = await this.transport.call({
      method: 'GET',
      path: '/v1/aliases',
      headers: { accept: 'application/json' },
      retry: 'idempotent',
      maxBodyBytes: JSON_LIMIT,
      signal: options.signal,
    });
    return asAliasList(parseJson(response, 'GET /v1/aliases'));
  }

  /**
   * Points `name` at `target` by compare-and-swap: `{version}` moves an alias that is at that
   * version (`If-Match`), `{absent: true}` creates one (`If-None-Match: *`). A lost race is
   * PRECONDITION_FAILED with `details.current` = `{target, version}`. Setting the target it
   * already has is a no-op that returns the current state. See the class comment for retries.
   */
  async setAlias(
    name: string,
    target: string,
    expect: AliasExpectation,
    description?: string,
    options: CallOptions = {},
  ): Promise<AliasInfo> {
    assertAliasName(name);
    assertHex64(target, 'fingerprint');
    const headers: Record<string, string> = { ...JSON_HEADERS };
    if ('absent' in expect && expect.absent === true) {
      headers['if-none-match'] = '*';
    } else if ('version' in expect && Number.isSafeInteger(expect.version) && expect.version >= 0) {
      headers['if-match'] = `"${expect.version}"`;
    } else {
      throw new InvalidInputError('setAlias: expect must be {version: <non-negative integer>} or {absent: true}');
    }
    const body = description === undefined ? { target } : { target, description };
    try {
      const response = await this.transport.call({
        method: 'PUT',
        path: aliasPath(name),
        headers,
        body: jsonBody(body),
        retry: 'idempotent', // safe: every attempt carries the precondition
        maxBodyBytes: JSON_LIMIT,
        signal: options.signal,
      });
      return asAlias(parseJson(response, 'PUT alias'));
    } catch (err) {
      if (isLxchunkError(err, 'PRECONDITION_FAILED') && followsUncertainAttempt(err)) {
        const current = (err.details?.current ?? undefined) as { target?: unknown } | undefined;
        if (current?.target === target) {
          // Most likely our own lost-answer attempt; either way the alias is where we wanted it.
          const now = await this.getAlias(name, options);
          if (now?.target === target) return now;
        }
      }
      throw err;
    }
  }

  /** Deletes an alias; with `expectVersion`, only if it is still at that version (else PRECONDITION_FAILED). */
  async deleteAlias(name: string, expectVersion?: number, options: CallOptions = {}): Promise<void> {
    const headers: Record<string, string> = {};
    if (expectVersion !== undefined) {
      if (!Number.isSafeInteger(expectVersion) || expectVersion < 0) {
        throw new InvalidInputError(`expectVersion must be a non-negative integer, got ${String(expectVersion)}`);
      }
      headers['if-match'] = `"${expectVersion}"`;
    }
    try {
      await this.transport.call({ method: 'DELETE', path: aliasPath(name), headers, retry: 'idempotent', signal: options.signal });
    } catch (err) {
      if (isLxchunkError(err, 'ALIAS_NOT_FOUND') && followsUncertainAttempt(err)) return;
      throw err;
    }
  }

  /** Past targets of the alias, newest first. */
  async aliasHistory(name: string, options: CallOptions = {}): Promise<AliasHistoryEntry[]> {
    const response = await this.transport.call({
      method: 'GET',
      path: aliasPath(name, '/history'),
      headers: { accept: 'application/json' },
      retry: 'idempotent',
      maxBodyBytes: JSON_LIMIT,
      signal: options.signal,
    });
    return asHistory(parseJson(response, 'GET alias history'));
  }

  // --- changes, admin ---

  /**
   * Long-poll of alias changes after `since` (undefined: just the current seq, no changes, as a
   * follower starts). Waits up to `waitSeconds` (0–300) for one; the request's own timeout is
   * longer than that.
   */
  async changes(since: number | undefined, waitSeconds: number, options: CallOptions = {}): Promise<ChangesResult> {
    if (!Number.isSafeInteger(waitSeconds) || waitSeconds < 0 || waitSeconds > MAX_WAIT_SECONDS) {
      throw new InvalidInputError(`waitSeconds must be an integer from 0 to ${MAX_WAIT_SECONDS}, got ${String(waitSeconds)}`);
    }
    const query = new URLSearchParams();
    if (since !== undefined) {
      if (!Number.isSafeInteger(since) || since < 0) {
        throw new InvalidInputError(`since must be a non-negative integer, got ${String(since)}`);
      }
      query.set('since', String(since));
    }
    query.set('wait', String(waitSeconds));
    const response = await this.transport.call({
      method: 'GET',
      path: '/v1/changes',
      query,
      headers: { accept: 'application/json' },
      retry: 'idempotent',
      timeoutMs: waitSeconds * 1000 + LONG_POLL_MARGIN_MS,
      maxBodyBytes: JSON_LIMIT,
      signal: options.signal,
    });
    return asChanges(parseJson(response, 'GET /v1/changes'));
  }

  /** Runs retention and garbage collection now (admin) and returns the report. */
  async gc(options: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<GcReport> {
    const query = new URLSearchParams();
    if (options.dryRun) query.set('dryRun', 'true');
    const response = await this.transport.call({
      method: 'POST',
      path: '/v1/gc',
      query,
      headers: { accept: 'application/json' },
      retry: 'unapplied',
      timeoutMs: GC_TIMEOUT_MS,
      maxBodyBytes: JSON_LIMIT,
      signal: options.signal,
    });
    return asGcReport(parseJson(response, 'POST /v1/gc'));
  }

  /**
   * Has the server read and verify every stored chunk now (admin), quarantining the corrupt ones
   * with `repair`; `onProgress` hears how far it got (about twice a second).
   */
  async verify(options: { repair?: boolean; onProgress?: (progress: VerifyProgress) => void; signal?: AbortSignal } = {}): Promise<VerifyReport> {
    const query = new URLSearchParams();
    if (options.repair) query.set('repair', 'true');
    const response = await this.transport.open({
      method: 'POST',
      path: '/v1/admin/verify',
      query,
      headers: { accept: 'application/x-ndjson' },
      retry: 'none',
      signal: options.signal,
    });
    return readVerifyStream(response.body, options.onProgress);
  }
}

function uniqueIds(ids: readonly string[]): string[] {
  if (!Array.isArray(ids)) throw new InvalidInputError('ids must be an array of chunk ids');
  const seen = new Set<string>();
  for (const id of ids) {
    assertHex64(id);
    seen.add(id);
  }
  return [...seen];
}

function split<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function jsonBody(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function unexpectedStatus(response: HttpResponse, what: string, expected: string): ProtocolError {
  return new ProtocolError(`${what}: expected HTTP ${expected}, got ${response.status}`);
}

/** What the server would refuse about one chunk, refused here before anything is sent. */
function assertChunkBytes(id: string, bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array)) throw new InvalidInputError(`chunk ${id}: bytes must be a Uint8Array`);
  if (bytes.length > PROTOCOL_LIMITS.maxChunkBytes) {
    throw new InvalidInputError(`chunk ${id}: ${bytes.length} bytes exceeds the ${PROTOCOL_LIMITS.maxChunkBytes}-byte maximum`);
  }
}
