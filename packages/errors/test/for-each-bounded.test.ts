import assert from 'node:assert/strict';
import { forEachBounded, isLxchunkError } from '../src/index.js';

/** Resolves once `signal` aborts. */
const aborted = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

describe('forEachBounded', () => {
  it('runs every item once, never more than the limit at once', async () => {
    const seen: number[] = [];
    let running = 0;
    let most = 0;
    await forEachBounded(Array.from({ length: 20 }, (_, i) => i), 3, async (item, index) => {
      assert.equal(item, index);
      running++;
      most = Math.max(most, running);
      // A few turns of the event loop, so that workers overlap.
      for (let i = 0; i < 1 + (item % 4); i++) await new Promise((resolve) => setImmediate(resolve));
      seen.push(item);
      running--;
    });
    assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(most, 3);
  });

  it('on the first failure aborts the others, starts nothing new, and rejects with it once all have settled', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    let secondStarted!: () => void;
    const othersRunning = new Promise<void>((resolve) => (secondStarted = resolve));
    const failure = new Error('item 0 failed');
    const run = forEachBounded(Array.from({ length: 10 }, (_, i) => i), 3, async (item, _index, signal) => {
      started.push(item);
      if (item === 0) {
        await othersRunning;
        throw failure;
      }
      if (item === 2) secondStarted();
      await aborted(signal);
      settled.push(item);
      throw signal.reason;
    });
    await assert.rejects(run, (err) => err === failure);
    assert.deepEqual(started, [0, 1, 2]);
    assert.deepEqual(settled.sort(), [1, 2], 'the others had settled before it rejected');
  });

  it("stops at the caller's abort even when the work does not look at the signal", async () => {
    const controller = new AbortController();
    const started: number[] = [];
    const run = forEachBounded(Array.from({ length: 10 }, (_, i) => i), 1, async (item) => {
      started.push(item);
      controller.abort(new Error('stopped by the caller'));
    }, controller.signal);
    await assert.rejects(run, /stopped by the caller/);
    assert.deepEqual(started, [0]);
  });

  it('runs nothing when the signal is already aborted, and refuses a limit below 1', async () => {
    let ran = false;
    const work = async () => {
      ran = true;
    };
    await assert.rejects(forEachBounded([1], 2, work, AbortSignal.abort(new Error('already'))), /already/);
    await assert.rejects(forEachBounded([1], 0, work), (err) => isLxchunkError(err, 'INVALID_INPUT'));
    assert.equal(ran, false);
  });
});
