import { InvalidInputError, abortReason } from '@lxchunk/errors';

/** HTTP statuses worth retrying: overload (429, 503) and a gateway that lost the server (502, 504). */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** A server's Retry-After is honoured up to this; beyond it we would rather fail and let the caller decide. */
export const MAX_RETRY_AFTER_MS = 30_000;

/** How long a request keeps retrying a server that went away, by default: a restart fits in it. */
export const DEFAULT_RETRY_FOR_MS = 60_000;

export interface RetryPolicyOptions {
  /** Retries after the first attempt. Default: as many as fit in `retryForMs`. */
  readonly retries?: number;
  /** Retries stop once this long has passed since the first failure of a streak. Default 60 s. */
  readonly retryForMs?: number;
  /** Delay before the first retry, doubled for each further one. Default 200 ms. */
  readonly baseMs?: number;
  /** Cap of the exponential part. Default 10 s. */
  readonly maxMs?: number;
  /** Source of jitter, in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/**
 * Exponential backoff with jitter: retry n (1-based) waits a uniformly random time in
 * [d/2, d) with d = min(maxMs, baseMs * 2^(n-1)); the half that is kept fixed stops a herd of
 * clients from retrying at once while still backing off. A Retry-After from the server raises
 * the wait to what it asked (capped at MAX_RETRY_AFTER_MS). Retries go on for `retryForMs` after
 * the first failure (and at most `retries` times).
 */
export class RetryPolicy {
  readonly retries: number;
  readonly retryForMs: number;
  readonly baseMs: number;
  readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: RetryPolicyOptions = {}) {
    this.retries = options.retries ?? Number.POSITIVE_INFINITY;
    this.retryForMs = options.retryForMs ?? DEFAULT_RETRY_FOR_MS;
    this.baseMs = options.baseMs ?? 200;
    this.maxMs = options.maxMs ?? 10_000;
    this.random = options.random ?? Math.random;
    if (!(Number.isSafeInteger(this.retries) || this.retries === Number.POSITIVE_INFINITY) || this.retries < 0) {
      throw new InvalidInputError(`retries must be a non-negative integer, got ${String(options.retries)}`);
    }
    if (!Number.isFinite(this.retryForMs) || this.retryForMs < 0) {
      throw new InvalidInputError(`retry window must be a non-negative number of milliseconds, got ${String(options.retryForMs)}`);
    }
    if (!Number.isFinite(this.baseMs) || this.baseMs < 0) {
      throw new InvalidInputError(`retryBaseMs must be a non-negative number, got ${String(options.baseMs)}`);
    }
    if (!Number.isFinite(this.maxMs) || this.maxMs < 0) {
      throw new InvalidInputError(`maximum retry delay must be a non-negative number, got ${String(options.maxMs)}`);
    }
  }

  /** How long to wait before retry number `retry` (1 for the first retry). */
  delayMs(retry: number, retryAfterMs?: number): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.max(0, retry - 1));
    const delay = ceiling / 2 + (this.random() * ceiling) / 2;
    if (retryAfterMs === undefined) return delay;
    return Math.max(delay, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  }

  /**
   * The wait before retry number `retry` of a streak of failures whose first was `elapsedMs` ago,
   * or undefined when the streak has used up its retries or its window. The last wait is cut to
   * end at the window's edge: one more attempt there finds a server that came back just in time.
   */
  nextDelay(retry: number, elapsedMs: number, retryAfterMs?: number): number | undefined {
    const left = this.retryForMs - elapsedMs;
    if (retry > this.retries || left <= 0) return undefined;
    return Math.min(this.delayMs(retry, retryAfterMs), left);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}


/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
