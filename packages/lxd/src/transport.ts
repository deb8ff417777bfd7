/**
 * HTTP over LXD's unix socket: one undici Agent, LXD's response envelope, and the mapping of
 * failures to lxchunk errors (LXD_UNAVAILABLE when nothing answers, LXD_ERROR when LXD answers
 * with an error). Nothing here knows LXD's routes beyond operations.
 */
import { LxdError, LxdUnavailableError, ProtocolError } from '@lxchunk/errors';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** LXD's standard response envelope (sync, async or error). */
export interface LxdEnvelope {
  readonly type: 'sync' | 'async' | 'error';
  readonly status?: string;
  readonly status_code?: number;
  readonly operation?: string;
  readonly error_code?: number;
  readonly error?: string;
  readonly metadata?: unknown;
}

export interface LxdOperation {
  readonly id: string;
  readonly status: string;
  readonly status_code: number;
  readonly err: string;
  readonly metadata: Record<string, unknown> | null;
}

export interface RequestOptions {
  /** JSON body, or a stream (then `headers` must carry its content type). */
  readonly json?: unknown;
  readonly stream?: Readable;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal | undefined;
  /** Wait for the response headers (0 disables); defaults to the transport's timeout. */
  readonly headersTimeoutMs?: number;
  readonly bodyTimeoutMs?: number;
}

export interface JsonResponse {
  readonly statusCode: number;
  readonly headers: ResponseHeaders;
  readonly envelope: LxdEnvelope;
}

export interface RawResponse {
  readonly statusCode: number;
  readonly headers: ResponseHeaders;
  readonly body: Dispatcher.ResponseData['body'];
}

/** Largest JSON answer we accept (image lists of big servers stay far below). */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/** Connection-level failures: nothing (or nothing anymore) answers on the socket. */
const UNAVAILABLE_CODES = new Set([
  'ENOENT',
  'ECONNREFUSED',
  'EACCES',
  'EPERM',
  'ECONNRESET',
  'EPIPE',
  'ENOTSOCK',
  'ENOTDIR',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_DESTROYED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

export class LxdTransport {
  private readonly agent: Agent;

  constructor(
    readonly socketPath: string,
    readonly timeoutMs: number,
  ) {
    this.agent = new Agent({
      connect: { socketPath, timeout: timeoutMs },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  /** A request whose answer is LXD's JSON envelope; error envelopes become LxdError. */
  async json(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<JsonResponse> {
    const response = await this.raw(method, path, options);
    const envelope = await readEnvelope(response, method, path, options.signal);
    if (envelope.type === 'error' || response.statusCode >= 400) {
      throw lxdErrorFrom(method, path, response.statusCode, envelope);
    }
    return { statusCode: response.statusCode, headers: response.headers, envelope };
  }

  /** A request whose body the caller reads (or discards) itself. */
  async raw(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<RawResponse> {
    options.signal?.throwIfAborted();
    const headers: Record<string, string> = { ...options.headers };
    let body: string | Readable | undefined;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] = 'application/json';
    } else if (options.stream) {
      body = options.stream;
    }
    try {
      const response = await this.agent.request({
        origin: 'http://lxd',
        path,
        method,
        headers,
        body,
        signal: options.signal,
        headersTimeout: options.headersTimeoutMs ?? this.timeoutMs,
        bodyTimeout: options.bodyTimeoutMs ?? this.timeoutMs,
      });
      return { statusCode: response.statusCode, headers: response.headers, body: response.body };
    } catch (err) {
      throw this.mapFailure(err, method, path, options.signal);
    }
  }

  /** Maps an error thrown while talking to LXD: aborts pass through, socket failures are LXD_UNAVAILABLE. */
  mapFailure(err: unknown, method: string, path: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason ?? err;
    if (err instanceof LxdError || err instanceof LxdUnavailableError || err instanceof ProtocolError) return err;
    const code = errorCode(err);
    if (code !== undefined && UNAVAILABLE_CODES.has(code)) {
      const detail = err instanceof Error ? err.message : String(err);
      return new LxdUnavailableError(`LXD at ${this.socketPath} did not answer ${method} ${path}: ${code ? `${code} ` : ''}${detail}`, { cause: err });
    }
    return err;
  }

  /**
   * Waits for a background operation to end (GET /1.0/operations/<id>/wait, re-asked every
   * `waitSeconds` while it runs); returns it on success, throws LxdError with LXD's `err` text on
   * failure or cancellation.
   */
  async waitOperation(operationPath: string, what: string, signal?: AbortSignal, waitSeconds = 30): Promise<LxdOperation> {
    const id = operationId(operationPath);
    const path = `/1.0/operations/${encodeURIComponent(id)}/wait?timeout=${waitSeconds}`;
    for (;;) {
      const { envelope } = await this.json('GET', path, { signal, headersTimeoutMs: waitSeconds * 1000 + this.timeoutMs });
      const op = asOperation(envelope.metadata, path);
      if (op.status_code === 200) return op;
      // 100 Created, 101 Started, 103 Running, 105 Pending, 106 Starting, 107 Stopping, 108 Aborting,
      // 109 Freezing, 110 Frozen, 111 Thawed: not done yet.
      if (op.status_code < 200) continue;
      throw new LxdError(`LXD could not ${what}: ${op.err || op.status}`, { status: op.status_code, lxdCode: op.status_code, operation: id });
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  async destroy(): Promise<void> {
    await this.agent.destroy();
  }
}

function operationId(operationPath: string): string {
  const match = /^\/1\.0\/operations\/([^/?#]+)/.exec(operationPath);
  if (!match?.[1]) throw new ProtocolError(`LXD named an operation ${JSON.stringify(operationPath)}, not /1.0/operations/<id>`);
  return decodeURIComponent(match[1]);
}

function asOperation(value: unknown, path: string): LxdOperation {
  if (typeof value !== 'object' || value === null) throw new ProtocolError(`LXD answered GET ${path} without an operation`);
  const op = value as Record<string, unknown>;
  if (typeof op.id !== 'string' || typeof op.status_code !== 'number') throw new ProtocolError(`LXD answered GET ${path} with a malformed operation`);
  return {
    id: op.id,
    status: typeof op.status === 'string' ? op.status : '',
    status_code: op.status_code,
    err: typeof op.err === 'string' ? op.err : '',
    metadata: typeof op.metadata === 'object' && op.metadata !== null ? (op.metadata as Record<string, unknown>) : null,
  };
}

/** Reads a (bounded) JSON envelope from a response; an unparsable error answer still becomes LxdError. */
export async function readEnvelope(response: RawResponse, method: string, path: string, signal?: AbortSignal): Promise<LxdEnvelope> {
  const pieces: Buffer[] = [];
  let size = 0;
  try {
    for await (const piece of response.body) {
      const buf = piece as Buffer;
      size += buf.length;
      if (size > MAX_JSON_BYTES) {
        response.body.destroy();
        throw new ProtocolError(`LXD's answer to ${method} ${path} exceeds ${MAX_JSON_BYTES} bytes`);
      }
      pieces.push(buf);
    }
  } catch (err) {
    if (signal?.aborted) throw signal.reason ?? err;
    if (err instanceof ProtocolError) throw err;
    throw new LxdUnavailableError(`LXD stopped answering ${method} ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const text = Buffer.concat(pieces).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (response.statusCode >= 400) {
      throw new LxdError(`LXD refused ${method} ${path} (HTTP ${response.statusCode}): ${text.slice(0, 500).trim()}`, { status: response.statusCode }, { cause: err });
    }
    throw new ProtocolError(`LXD answered ${method} ${path} with something that is not JSON: ${JSON.stringify(text.slice(0, 200))}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || !['sync', 'async', 'error'].includes((parsed as { type?: unknown }).type as string)) {
    if (response.statusCode >= 400) {
      throw new LxdError(`LXD refused ${method} ${path} (HTTP ${response.statusCode}): ${text.slice(0, 500).trim()}`, { status: response.statusCode });
    }
    throw new ProtocolError(`LXD answered ${method} ${path} without its response envelope`);
  }
  return parsed as LxdEnvelope;
}

export function lxdErrorFrom(method: string, path: string, statusCode: number, envelope: LxdEnvelope): LxdError {
  const status = envelope.error_code || statusCode;
  const text = envelope.error || envelope.status || `HTTP ${statusCode}`;
  return new LxdError(`LXD refused ${method} ${path}: ${text}`, { status, lxdCode: envelope.error_code ?? status });
}

export function isLxdStatus(err: unknown, status: number): boolean {
  return err instanceof LxdError && err.details?.status === status;
}

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
