import assert from 'node:assert/strict';
import { encodeXzBlock, XzPool, type XzRecipe } from '../src/index.js';
import { selfTestSample } from '../src/self-test-sample.js';

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

  it('refuses nonsense sizes with INVALID_PARAMS', () => {
    assert.throws(() => new XzPool({ threads: 0 }), { code: 'INVALID_PARAMS' });
    assert.throws(() => new XzPool({ threads: 1, maxQueued: -1 }), { code: 'INVALID_PARAMS' });
    pool = new XzPool({ threads: 1 });
  });
});
