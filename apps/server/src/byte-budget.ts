import { PayloadTooLargeError, UnavailableError } from '@lxchunk/errors';

/** What a refused request is told: come back after about this long. */
const RETRY_AFTER_SECONDS = 5;

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
}

/**
 * A server-wide budget of request-body bytes held in memory, shared by every upload. A request
 * takes bytes before it reads them and gives them back once they are stored. When the budget is
 * spent, requests wait their turn (first come, first served, so a large frame is not starved by
 * small ones) for at most `maxWaitMs`, then are refused with 503 UNAVAILABLE and Retry-After.
 */
export class ByteBudget {
  private used = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    readonly capacity: number,
    private readonly maxWaitMs: number,
    private readonly onChange: (inUse: number, waiting: number) => void = () => undefined,
  ) {}

  get inUse(): number {
    return this.used;
  }

  /**
   * Takes `bytes`, waiting for them if need be; rejects if they do not come free in time, or with
   * the signal's reason once `signal` aborts (a client that hung up must not take bytes later).
   */
  async acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    if (bytes <= 0) return;
    signal?.throwIfAborted();
    if (bytes > this.capacity) {
      throw new PayloadTooLargeError(`a request needs ${bytes} bytes in memory at once, over the server's ${this.capacity}-byte upload budget`);
    }
    if (this.queue.length === 0 && this.used + bytes <= this.capacity) {
      this.take(bytes);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const leave = (err: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const at = this.queue.indexOf(waiter);
        if (at >= 0) this.queue.splice(at, 1);
        reject(err);
        // The one leaving may have been the head, blocking smaller requests behind it.
        this.grantWaiters();
        this.changed();
      };
      const timer = setTimeout(() => {
        leave(new UnavailableError(`the server holds ${this.used} bytes of uploads in memory, its limit; retry later`, { retryAfterSeconds: RETRY_AFTER_SECONDS }));
      }, this.maxWaitMs);
      const onAbort = () => leave(signal!.reason);
      const waiter: Waiter = {
        bytes,
        grant: () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.changed();
    });
  }

  release(bytes: number): void {
    if (bytes <= 0) return;
    this.used -= bytes;
    this.grantWaiters();
    this.changed();
  }

  private grantWaiters(): void {
    while (this.queue.length > 0 && this.used + this.queue[0]!.bytes <= this.capacity) {
      const next = this.queue.shift()!;
      this.take(next.bytes);
      next.grant();
    }
  }

  private take(bytes: number): void {
    this.used += bytes;
    this.changed();
  }

  private changed(): void {
    this.onChange(this.used, this.queue.length);
  }
}
