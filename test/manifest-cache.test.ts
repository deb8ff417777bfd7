import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestCache } from '@lxchunk/sync';
import { makeImage, type ImageFixture } from './helpers/image-fixture.js';

describe('ManifestCache (real files)', () => {
  let dir: string;
  let a: ImageFixture;
  let b: ImageFixture;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-manifests-'));
    a = await makeImage({ seed: 31, public: true });
    b = await makeImage({ seed: 32, public: true });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('returns what was put, byte for byte, and the newest entry first', async () => {
    const cache = new ManifestCache(join(dir, 'ok'));
    assert.equal(await cache.newest(), undefined, 'a missing directory is an empty cache');
    await cache.put(a.fingerprint, a.manifestBytes);
    await cache.put(b.fingerprint, b.manifestBytes);
    await utimes(join(cache.dir, `${a.fingerprint}.json`), new Date(), new Date(Date.now() - 60_000));
    assert.ok(Buffer.from((await cache.get(a.fingerprint))!.bytes).equals(a.manifestBytes));
    assert.equal((await cache.newest())!.fingerprint, b.fingerprint);
    assert.deepEqual((await readdir(cache.dir)).sort(), [`${a.fingerprint}.json`, `${b.fingerprint}.json`].sort(), 'no temp files left');
  });

  it('drops a damaged file or one stored under another fingerprint, and never returns it', async () => {
    const cache = new ManifestCache(join(dir, 'bad'));
    await cache.put(a.fingerprint, a.manifestBytes);
    await writeFile(join(cache.dir, `${a.fingerprint}.json`), Buffer.from(a.manifestBytes).subarray(0, 100));
    await writeFile(join(cache.dir, `${b.fingerprint}.json`), a.manifestBytes);
    assert.equal(await cache.get(a.fingerprint), undefined);
    assert.equal(await cache.newest(), undefined);
    assert.deepEqual(await readdir(cache.dir), []);
    assert.equal(await cache.get('not-a-fingerprint'), undefined);
  });
});
