/**
 * Request plumbing shared by every call of the client: one keep-alive undici Agent, the base URL,
 * auth and user-agent headers, byte counting, the mapping of failures to lxchunk errors, and the
 * retry loop. Nothing here knows the API's routes.
 */
import { ProtocolError, TlsUntrustedError, UnavailableError, abortReason, errorFromBody, isLxchunkError } from '@lxchunk/errors';
import { EnvHttpProxyAgent, type Dispatcher } from 'undici';
import type { ByteCounter } from './byte-counter.js';
import { RETRYABLE_STATUSES, parseRetryAfter, sleep, type RetryPolicy } from './retry-policy.js';
import { UNTRUSTED_CERT_CODES, serverTrustOptions, type ClientTls } from './server-trust.js';

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/**
 * Which failures a request may be repeated after:
 * - `idempotent`: every retryable failure (network errors, 429, 502, 503, 504), also those after
 *   which the server may have acted (a reset after the request was sent, a gateway timeout);
 * - `unapplied`: only failures that prove the server did not act on it (the connection was never
 *   made; 429 or 503, with which the server refuses work);
 * - `none`: a single attempt.
 */
export type RetryMode = 'idempotent' | 'unapplied' | 'none';

export interface RequestSpec {
  readonly method: HttpMethod;
  /** Path below the base URL, starting with `/`, already percent-encoded. */
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  readonly retry: RetryMode;
  /** Overrides the transport's timeout for the wait for headers and for silences in the body. */
  readonly timeoutMs?: number;
  /** A 2xx body larger than this is a PROTOCOL_ERROR (the server owes us bounded answers). */
  readonly maxBodyBytes?: number;
  readonly signal?: AbortSignal | undefined;
  /** A 3xx answer is returned (its Location to follow with `getExternal`) instead of thrown. */
  readonly redirects?: boolean;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  readonly body: Uint8Array;
}

export interface StreamingResponse {
  readonly status: number;
  readonly headers: ResponseHeaders;
  /** Counted, error-mapped body pieces. Leaving the loop early releases the connection. */
  readonly body: AsyncIterable<Uint8Array>;
}

/** How a failed attempt may be retried; attached to the errors this module throws. */
export interface FailureInfo {
  readonly retryable: boolean;
  /** The server certainly did not act on the request. */
  readonly unapplied: boolean;
  /** From a Retry-After header. */
  readonly retryAfterMs?: number;
}

const failureInfos = new WeakMap<object, FailureInfo>();
const afterUncertain = new WeakSet<object>();

export function failureInfo(err: unknown): FailureInfo | undefined {
  return typeof err === 'object' && err !== null ? failureInfos.get(err) : undefined;
}

/**
 * True when `err` came from a retry that followed a failure after which the server may have
 * acted: the answer may describe the effect of our own earlier attempt (a 412 for our own
 * compare-and-swap, a 404 for our own delete).
 */
export function followsUncertainAttempt(err: unknown): boolean {
  return typeof err === 'object' && err !== null && afterUncertain.has(err);
}

/** Whether a failure allows another attempt under `mode`. */
export function mayRetry(err: unknown, mode: RetryMode): boolean {
  const info = failureInfo(err);
  if (!info?.retryable) return false;
  return mode === 'idempotent' || (mode === 'unapplied' && info.unapplied);
}

/** Errors of a connection attempt: the request was never sent. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
/** undici codes that mean we used it wrongly, not that the network failed. */
const USAGE_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_INVALID_RETURN_VALUE']);

const ERROR_BODY_LIMIT = 1024 * 1024;
const DEFAULT_BODY_LIMIT = 64 * 1024 * 1024 + 1024 * 1024;

export interface HttpTransportOptions {
  /** Replicas of one server, tried in order; a retryable failure moves to the next. */
  readonly urls: readonly string[];
  readonly token?: string | undefined;
  readonly userAgent: string;
  readonly timeoutMs: number;
  readonly policy: RetryPolicy;
  readonly counter: ByteCounter;
  /** Which certificates the servers' HTTPS may present (default: any the system's CAs vouch for). */
  readonly tls?: ClientTls | undefined;
}

/** Statuses of a server (or its gateway) that cannot answer now, where another replica may. */
const FAILOVER_STATUSES = new Set([502, 503, 504]);

export class HttpTransport {
  readonly policy: RetryPolicy;
  private readonly endpoints: readonly { readonly origin: string; readonly basePath: string }[];
  private current = 0;
  private readonly agent: Dispatcher;
  private readonly baseHeaders: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly counter: ByteCounter;

  constructor(options: HttpTransportOptions) {
    this.endpoints = options.urls.map((url) => {
      const base = new URL(url);
      // The base URL's path without its trailing slash ('' for a bare host).
      return { origin: base.origin, basePath: base.pathname.replace(/\/+$/, '') };
    });
    this.policy = options.policy;
    this.timeoutMs = options.timeoutMs;
    this.counter = options.counter;
    this.baseHeaders = { 'user-agent': options.userAgent };
    if (options.token !== undefined) this.baseHeaders.authorization = `Bearer ${options.token}`;
    // HTTP_PROXY, HTTPS_PROXY and NO_PROXY (or their lowercase forms) apply, as curl and lxc honour them.
    this.agent = new EnvHttpProxyAgent({
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 120_000,
      ...serverTrustOptions(this.endpoints.map((e) => e.origin), options.tls),
    });
  }

  /** The replica requests go to now. */
  get origin(): string {
    return this.endpoints[this.current]!.origin;
  }

  get basePath(): string {
    return this.endpoints[this.current]!.basePath;
  }

  /**
   * Moves on to the next replica after a failure that another may not share (the connection, or
   * 502/503/504): the retry that follows goes there. Requests in flight keep their replica.
   */
  private failOver(origin: string): void {
    if (this.endpoints.length > 1 && this.origin === origin) this.current = (this.current + 1) % this.endpoints.length;
  }

  get hasToken(): boolean {
    return this.baseHeaders.authorization !== undefined;
  }

  url(spec: Pick<RequestSpec, 'path' | 'query'>): string {
    return this.origin + this.pathOf(spec);
  }

  /** One attempt. Resolves on a 2xx with the body still to read; throws the mapped error otherwise. */
  async open(spec: RequestSpec): Promise<StreamingResponse> {
    const timeout = spec.timeoutMs ?? this.timeoutMs;
    const origin = this.origin;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.agent.request({
        origin,
        path: this.pathOf(spec),
        method: spec.method,
        headers: { ...this.baseHeaders, ...spec.headers },
        body: spec.body ?? null,
        signal: spec.signal,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
    } catch (err) {
      const mapped = this.mapError(err, spec, origin);
      if (spec.body && !failureInfo(mapped)?.unapplied) this.counter.addSent(spec.body.length);
      throw mapped;
    }
    if (spec.body) this.counter.addSent(spec.body.length);
    const { statusCode: status, headers, body } = response;
    if (spec.redirects && status >= 300 && status <= 399 && headers.location !== undefined) {
      return { status, headers, body: this.counted(body, spec, origin) };
    }
    if (status < 200 || status > 299) {
      if (FAILOVER_STATUSES.has(status)) this.failOver(origin);
      throw await this.statusError(spec, status, headers, body);
    }
    return { status, headers, body: this.counted(body, spec, origin) };
  }

  /** One attempt, body read in full. */
  async once(spec: RequestSpec): Promise<HttpResponse> {
    const response = await this.open(spec);
    const body = await this.readAll(response.body, spec.maxBodyBytes ?? DEFAULT_BODY_LIMIT, spec);
    return { status: response.status, headers: response.headers, body };
  }

  /** Attempts the request until it succeeds or fails in a way `spec.retry` does not allow repeating. */
  async call(spec: RequestSpec): Promise<HttpResponse> {
    let uncertain = false;
    let firstFailure: number | undefined;
    for (let retry = 0; ; retry++) {
      try {
        return await this.once(spec);
      } catch (err) {
        if (uncertain && typeof err === 'object' && err !== null) afterUncertain.add(err);
        firstFailure ??= Date.now();
        const info = failureInfo(err);
        const delay = mayRetry(err, spec.retry) ? this.policy.nextDelay(retry + 1, Date.now() - firstFailure, info?.retryAfterMs) : undefined;
        if (delay === undefined) throw giveUp(err, retry + 1);
        if (!info!.unapplied) uncertain = true;
        await sleep(delay, spec.signal);
      }
    }
  }

  /**
   * One GET of a URL the server handed out (a presigned object-store URL, to a redirected chunk):
   * without our credentials, which belong to the server alone; counted like our own traffic; the
   * body bounded. A refusal (an expired URL) is PROTOCOL_ERROR; a network failure or a 5xx is
   * UNAVAILABLE, retryable.
   */
  async getExternal(url: string, options: { readonly maxBodyBytes: number; readonly signal?: AbortSignal | undefined }): Promise<HttpResponse> {
    let target: URL;
    try {
      target = new URL(url);
    } catch (cause) {
      throw new ProtocolError(`the server redirected to ${JSON.stringify(url.slice(0, 200))}, which is not a URL`, { cause });
    }
    if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new ProtocolError(`the server redirected to a ${target.protocol} URL`);
    const spec: RequestSpec = { method: 'GET', path: target.pathname + target.search, retry: 'idempotent', signal: options.signal, maxBodyBytes: options.maxBodyBytes };
    const where = `GET ${target.origin}${target.pathname}`;
    let response: Dispatcher.ResponseData;
    try {
      response = await this.agent.request({
        origin: target.origin,
        path: spec.path,
        method: 'GET',
        headers: { 'user-agent': this.baseHeaders['user-agent']! },
        signal: options.signal,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
      });
    } catch (err) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      const untrusted = untrustedCertificate(err, where);
      if (untrusted) throw untrusted;
      const mapped = new UnavailableError(`${where}: ${describeCause(err)}`, { cause: err });
      failureInfos.set(mapped, { retryable: true, unapplied: true });
      throw mapped;
    }
    const body = await this.readAll(this.counted(response.body, spec), options.maxBodyBytes, spec);
    if (response.statusCode >= 500) {
      const error = new UnavailableError(`${where}: answered ${response.statusCode}`);
      failureInfos.set(error, { retryable: true, unapplied: true });
      throw error;
    }
    if (response.statusCode !== 200) throw new ProtocolError(`${where}: answered ${response.statusCode}`);
    return { status: response.statusCode, headers: response.headers, body };
  }

  /** A failure of anything below HTTP (or a body read) as an lxchunk error, retry info attached. */
  mapError(err: unknown, spec: RequestSpec, origin?: string): unknown {
    if (spec.signal?.aborted) return abortReason(spec.signal);
    if (isLxchunkError(err)) return err;
    const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
    if (typeof code !== 'string' || USAGE_CODES.has(code)) return err;
    // A certificate we do not trust is no outage: neither retried nor failed over (another
    // replica answering would not make this one's certificate right).
    const untrusted = untrustedCertificate(err, `${spec.method} ${this.url(spec)}`);
    if (untrusted) return untrusted;
    if (origin !== undefined) this.failOver(origin);
    const unapplied = CONNECT_CODES.has(code);
    const mapped = new UnavailableError(`${spec.method} ${this.url(spec)}: ${describeCause(err)}`, { cause: err });
    failureInfos.set(mapped, { retryable: true, unapplied });
    return mapped;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private pathOf(spec: Pick<RequestSpec, 'path' | 'query'>): string {
    const query = spec.query?.toString();
    return `${this.basePath}${spec.path}${query ? `?${query}` : ''}`;
  }

  private async statusError(
    spec: RequestSpec,
    status: number,
    headers: ResponseHeaders,
    body: Dispatcher.ResponseData['body'],
  ): Promise<unknown> {
    let parsed: unknown;
    try {
      const bytes = await this.readAll(this.counted(body, spec), ERROR_BODY_LIMIT, spec);
      parsed = bytes.length > 0 ? JSON.parse(Buffer.from(bytes).toString('utf8')) : undefined;
    } catch (err) {
      if (spec.signal?.aborted) return abortReason(spec.signal);
      parsed = undefined; // a status without a readable lxchunk body still maps to an error below
    }
    const error = errorFromBody(status, parsed);
    const retryable = RETRYABLE_STATUSES.has(status);
    const retryAfterMs = parseRetryAfter(headers['retry-after']);
    failureInfos.set(error, {
      retryable,
      unapplied: status === 429 || status === 503,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
    return error;
  }

  private async *counted(body: Dispatcher.ResponseData['body'], spec: RequestSpec, origin?: string): AsyncGenerator<Uint8Array> {
    try {
      for await (const piece of body as AsyncIterable<Buffer>) {
        this.counter.addReceived(piece.length);
        yield piece;
      }
    } catch (err) {
      throw this.mapError(err, spec, origin);
    } finally {
      // Left early (an error in the consumer, a limit): drop the rest, which also frees the socket.
      if (!body.destroyed) body.destroy();
    }
  }

  private async readAll(body: AsyncIterable<Uint8Array>, limit: number, spec: RequestSpec): Promise<Uint8Array> {
    const pieces: Uint8Array[] = [];
    let total = 0;
    for await (const piece of body) {
      total += piece.length;
      if (total > limit) {
        throw new ProtocolError(`${spec.method} ${this.url(spec)}: response body exceeds ${limit} bytes`);
      }
      pieces.push(piece);
    }
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, total);
  }
}

/** The error to throw once retries are exhausted; says how many attempts were made. */
function giveUp(err: unknown, attempts: number): unknown {
  if (attempts < 2 || !(err instanceof UnavailableError)) return err;
  const final = new UnavailableError(`${err.message} (gave up after ${attempts} attempts)`, { cause: err.cause });
  const info = failureInfos.get(err);
  if (info) failureInfos.set(final, info);
  if (afterUncertain.has(err)) afterUncertain.add(final);
  return final;
}

/** Node's refusal of a certificate (where undici verified it, e.g. behind a SOCKS proxy) as TLS_UNTRUSTED. */
function untrustedCertificate(err: unknown, where: string): TlsUntrustedError | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  const code = typeof e.code === 'string' && UNTRUSTED_CERT_CODES.has(e.code) ? e.code : typeof e.cause?.code === 'string' && UNTRUSTED_CERT_CODES.has(e.cause.code) ? e.cause.code : undefined;
  if (code === undefined) return undefined;
  return new TlsUntrustedError(`${where}: the TLS certificate is not trusted: ${describeCause(err)}`, { reason: code }, { cause: err });
}

function describeCause(err: unknown): string {
  const e = err as { message?: unknown; code?: unknown; errors?: unknown };
  let message = typeof e.message === 'string' ? e.message : '';
  // Node's happy-eyeballs connect throws an AggregateError with an empty message.
  if (!message && Array.isArray(e.errors)) {
    message = e.errors.map((inner: { message?: unknown }) => String(inner?.message ?? inner)).join('; ');
  }
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (!message) return code ?? String(err);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
