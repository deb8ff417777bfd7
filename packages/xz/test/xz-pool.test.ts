import assert from 'node:assert/strict';
import { encodeXzBlock, XzPool, type XzRecipe } from '../src/index.js';
import { selfTestSample } from '../src/self-test-sample.js';
import { threadCpuMs } from '../src/thread-cpu-time.js';

const recipe: XzRecipe = { dictSize: 1 << 20, filter: 'none', check: 'crc32' };

describe('XzPool', () => {
  let pool: XzPool;
  afterEach(async () => pool.close());

  it('encodes and finds recipes on worker threads, exactly as in-process', async () => {
    pool = new XzPool({ threads: 2, maxQueued: 0 });
    const sample = selfTestSample();
    const expected = encodeXzBlock(sample, recipe);
    // More jobs than threads with no queue: later callers wait for room, all still finish.
    const blocks = await Promise.all(Array.from({ length: 6 }, () => pool.encode(sample, recipe)));
    for (const block of blocks) assert.ok(Buffer.from(block).equals(expected));
    assert.deepEqual(await pool.findRecipe(expected, sample), recipe);
    assert.equal(await pool.findRecipe(expected, sample.subarray(1)), undefined);
  });

  it('rejects queued, running and waiting jobs whose signal aborts, and keeps working', async () => {
    pool = new XzPool({ threads: 1, maxQueued: 1 });
    const sample = selfTestSample();
    const controller = new AbortController();
    const jobs = Array.from({ length: 4 }, () => pool.encode(sample, recipe, controller.signal));
    controller.abort();
    for (const result of await Promise.allSettled(jobs)) {
      assert.equal(result.status, 'rejected');
      assert.equal((result as PromiseRejectedResult).reason.name, 'AbortError');
    }
    await assert.rejects(pool.encode(sample, recipe, AbortSignal.abort()), { name: 'AbortError' });
    assert.ok(Buffer.from(await pool.encode(sample, recipe)).equals(encodeXzBlock(sample, recipe)));
  });

  it('reports a refused recipe with its code, and a closed pool as UNAVAILABLE', async () => {
    pool = new XzPool({ threads: 1 });
    await assert.rejects(pool.encode(selfTestSample(), { ...recipe, dictSize: 1 }), { code: 'INVALID_INPUT' });
    const running = assert.rejects(pool.encode(selfTestSample(), recipe), { code: 'UNAVAILABLE' });
    await pool.close();
    await running;
    await assert.rejects(pool.encode(selfTestSample(), recipe), { code: 'UNAVAILABLE' });
  });

  it("counts its workers' CPU time, which a thread's wait does not add to", async () => {
    pool = new XzPool({ threads: 1 });
    const started = performance.now();
    for (let i = 0; i < 3; i++) await pool.encode(selfTestSample(), recipe);
    const wallSeconds = (performance.now() - started) / 1000;
    assert.ok(pool.workSeconds > 0 && pool.workSeconds <= wallSeconds + 0.02, `${pool.workSeconds} s of work in ${wallSeconds} s`);

    const before = threadCpuMs();
    assert.notEqual(before, undefined, 'Linux has /proc/thread-self');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    const afterWait = threadCpuMs()!;
    assert.ok(afterWait - before! < 100, `waiting 300 ms cost ${afterWait - before!} ms of CPU`);
    // Spinning does advance it; on a busy machine it takes longer than 200 ms of wall time to.
    const deadline = performance.now() + 20_000;
    while (threadCpuMs()! - afterWait < 200 && performance.now() < deadline);
    assert.ok(threadCpuMs()! - afterWait >= 200, 'spinning costs this thread CPU');
  });

  it('refuses nonsense sizes with INVALID_PARAMS', () => {
    assert.throws(() => new XzPool({ threads: 0 }), { code: 'INVALID_PARAMS' });
    assert.throws(() => new XzPool({ threads: 1, maxQueued: -1 }), { code: 'INVALID_PARAMS' });
    pool = new XzPool({ threads: 1 });
  });
});
