import { StorageFullError } from '@lxchunk/errors';
import type { Logger } from './server-logger.js';
import type { ServerMetrics } from './server-metrics.js';

/** Since when writes fail for lack of space, and the first such failure. */
export interface StorageFullState {
  readonly since: number;
  readonly reason: string;
}

/** errno codes of a full disk or an exhausted quota; SQLite's own code for the same. */
const FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/**
 * Whether the data dir can take writes. A write that fails for lack of space (a chunk file, a
 * manifest commit) marks it full: the failure is answered 507 STORAGE_FULL, logged once (not per
 * request), shown by /healthz and /metrics. The next write that succeeds clears it.
 */
export class StorageHealth {
  private fullState: StorageFullState | undefined;

  constructor(
    private readonly metrics: ServerMetrics,
    private readonly logger: Logger,
  ) {}

  get full(): StorageFullState | undefined {
    return this.fullState;
  }

  /** `err` as STORAGE_FULL if a lack of space caused it (and recorded as such), else undefined. */
  classify(err: unknown): StorageFullError | undefined {
    const code = fullCode(err);
    if (code === undefined) return undefined;
    this.metrics.storageFullErrors.inc();
    if (this.fullState === undefined) {
      const reason = `no space left in the data dir (${code})`;
      this.fullState = { since: Date.now(), reason };
      this.metrics.storageFull.set(1);
      this.logger.error({ code, error: String((err as Error)?.message ?? err) }, 'storage full: uploads fail until space is freed');
    }
    // The message names no path: the cause (with paths) stays in the log.
    return new StorageFullError(`the server's storage is full (${code}); nothing was stored for this request, retry once space is freed`, { cause: err });
  }

  /** A write went through: there is room again. */
  wrote(): void {
    if (this.fullState === undefined) return;
    this.fullState = undefined;
    this.metrics.storageFull.set(0);
    this.logger.info('storage writable again');
  }
}

/** The full-disk code of `err` or of one of its causes. */
function fullCode(err: unknown): string | undefined {
  for (let depth = 0; depth < 8 && typeof err === 'object' && err !== null; depth++) {
    if (err instanceof StorageFullError) return fullCode(err.cause) ?? 'STORAGE_FULL';
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && FULL_CODES.has(code)) return code;
    err = (err as { cause?: unknown }).cause;
  }
  return undefined;
}
