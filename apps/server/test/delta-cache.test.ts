import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeltaCache } from '../src/delta-cache.js';

describe('DeltaCache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-delta-cache-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const key = (n: number) => DeltaCache.key(n.toString(16).padStart(64, '0'), ['ff'.repeat(32)]);

  it('keeps answers across restarts, evicts the least recently used beyond its bound', () => {
    const cache = DeltaCache.open(dir, 3 * (1000 + 32));
    cache.put(key(1), new Uint8Array(1000).fill(1));
    cache.put(key(2), undefined); // "plain was better" is remembered too
    cache.put(key(3), new Uint8Array(1000).fill(3));
    assert.deepEqual(cache.get(key(2)), { payload: undefined });
    assert.ok(Buffer.from(cache.get(key(1))!.payload!).equals(Buffer.alloc(1000, 1)));
    cache.put(key(4), new Uint8Array(1000).fill(4)); // over the bound: 3, the least recently used, goes
    assert.equal(cache.get(key(3)), undefined);
    const reopened = DeltaCache.open(dir, 10_000);
    assert.ok(Buffer.from(reopened.get(key(4))!.payload!).equals(Buffer.alloc(1000, 4)));
    assert.equal(reopened.storedBytes, 2 * 1032 + 32);
  });

  it('drops a damaged entry and what a crash left half-written', async () => {
    const cache = DeltaCache.open(dir, 10_000);
    cache.put(key(1), new Uint8Array(500).fill(7));
    await writeFile(join(dir, key(1)), Buffer.alloc(532, 7)); // same size, wrong check
    assert.equal(cache.get(key(1)), undefined);
    await writeFile(join(dir, '.tmp-123-0'), 'half');
    DeltaCache.open(dir, 10_000);
    assert.deepEqual(await readdir(dir), []);
  });
});
