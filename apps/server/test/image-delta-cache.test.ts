import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageDeltaCache } from '../src/lxd-views/image-delta-cache.js';

const fp = (n: number) => n.toString(16).padStart(64, '0');

describe('ImageDeltaCache (real files)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-image-deltas-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  /** A maker writing `size` bytes, counting its calls. */
  const maker = (size: number, calls: string[]) => async (base: string, target: string, out: string) => {
    calls.push(`${base.slice(-1)}>${target.slice(-1)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(out, Buffer.alloc(size, 7));
  };

  it('makes a delta once for concurrent askers, records sha256 and size, and lists only one smaller than 90% of its target', async () => {
    const calls: string[] = [];
    const cache = ImageDeltaCache.open(dir, 1 << 20, maker(1000, calls));
    const [a, b] = await Promise.all([cache.ensure(fp(1), fp(2), 10_000), cache.ensure(fp(1), fp(2), 10_000)]);
    assert.deepEqual(calls, ['1>2']);
    assert.equal(a, b);
    assert.equal(a.size, 1000);
    assert.equal(a.worth, true);
    const useless = await cache.ensure(fp(1), fp(3), 1000);
    assert.equal(useless.worth, false);
    assert.equal(await cache.open(fp(1), fp(3)), undefined, 'a delta as large as its target is not offered');
    const opened = (await cache.open(fp(1), fp(2)))!;
    let bytes = 0;
    for await (const part of opened.stream) bytes += part.length;
    assert.equal(bytes, 1000);
  });

  it('keeps at most its bound on disk, the least recently used going first; a failed make is not remembered', async () => {
    const calls: string[] = [];
    const cache = ImageDeltaCache.open(dir, 2500, maker(1000, calls));
    await cache.ensure(fp(1), fp(2), 10_000);
    await cache.ensure(fp(2), fp(3), 10_000);
    await cache.open(fp(1), fp(2)); // used: 2>3 is now the oldest
    await cache.ensure(fp(3), fp(4), 10_000);
    assert.equal(cache.storedBytes, 2000);
    assert.ok(cache.known(fp(1), fp(2)));
    assert.equal(cache.known(fp(2), fp(3)), undefined);
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.vcdiff')).length, 2);

    const failing = ImageDeltaCache.open(dir, 2500, async () => {
      throw new Error('xdelta3 failed');
    });
    await assert.rejects(failing.ensure(fp(7), fp(8), 10_000), /xdelta3 failed/);
    await assert.rejects(failing.ensure(fp(7), fp(8), 10_000), /xdelta3 failed/, 'asked again, made again');
    assert.ok(!(await readdir(dir)).some((n) => n.startsWith('.tmp-')), 'no temp file left behind');
  });
});
