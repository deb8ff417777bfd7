import { abortReason } from './retry-policy.js';

/**
 * Runs `work` on every item with at most `limit` running at once. The first failure aborts the
 * signal handed to the others and is what rejects, once all have settled (so nothing keeps
 * running behind the caller's back). An abort of `signal` stops the rest likewise.
 */
export async function forEachBounded<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number, signal: AbortSignal) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) throw abortReason(signal);
  const stop = new AbortController();
  const linked = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async () => {
    while (!failed && next < items.length) {
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
