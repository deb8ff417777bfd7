import { InvalidInputError } from './errors.js';

/**
 * Runs `work` on every item with at most `limit` running at once. The first failure aborts the
 * signal handed to the others and is what rejects, once all have settled (so nothing keeps
 * running behind the caller's back). An abort of `signal` stops the rest likewise.
 *
 * The project's one bounded-concurrency tool. Not p-limit: it neither aborts the work already
 * running nor waits for it, so a caller that fails on the first error would return, and close
 * what that work still reads from, while the rest of it runs on.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  // A limit of 0 would start no worker and report success having done nothing.
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidInputError(`the concurrency limit must be a positive integer, got ${limit}`);
  if (signal?.aborted) throw abortReason(signal);
  const stop = new AbortController();
  const linked = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async () => {
    while (!failed && !linked.aborted && next < items.length) {
      const index = next++;
      try {
        await work(items[index]!, index, linked);
      } catch (err) {
        if (!failed) {
          failed = true;
          firstError = err;
          stop.abort(err);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw firstError;
  if (signal?.aborted) throw abortReason(signal);
}

/** Why `signal` aborted: its reason, or a standard AbortError when it gave none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
