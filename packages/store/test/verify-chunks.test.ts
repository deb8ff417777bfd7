import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkId } from '@lxchunk/chunker';
import { FsChunkStore, verifyChunks, type VerifyProgress } from '../src/index.js';

describe('verifyChunks over a filesystem store', function () {
  let dir: string;
  let store: FsChunkStore;
  let ids: string[];
  const sizes = new Map<string, number>();

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-verify-'));
    store = await FsChunkStore.open({ dir, fsync: false });
    ids = [];
    for (let i = 0; i < 6; i++) {
      // Half compressible, so both encodings are read back.
      const bytes = i % 2 === 0 ? new Uint8Array(randomBytes(3000 + i)) : new Uint8Array(5000 + i).fill(i);
      const id = chunkId(bytes);
      await store.put(id, bytes);
      ids.push(id);
      sizes.set(id, bytes.length);
    }
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  const damage = async (id: string): Promise<number> => {
    const location = (await store.locate(id))!;
    const bytes = await readFile(location.path);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x40;
    await writeFile(location.path, bytes);
    return bytes.length;
  };

  it('counts every chunk ok, with their bytes, on an intact store', async function () {
    const progress: VerifyProgress[] = [];
    const report = await verifyChunks(store, { repair: false, onProgress: (p) => progress.push(p) });
    const okBytes = [...sizes.values()].reduce((a, b) => a + b, 0);
    assert.deepEqual(report, { repair: false, chunks: 6, ok: 6, corrupt: 0, unreadable: 0, quarantined: 0, okBytes, corruptBytes: 0, problems: [] });
    assert.deepEqual(progress.map((p) => [p.done, p.total]), [1, 2, 3, 4, 5, 6].map((n) => [n, 6]));
  });

  it('finds the corrupt chunks and leaves them in place without repair', async function () {
    const stored = (await damage(ids[1]!)) + (await damage(ids[4]!));
    const report = await verifyChunks(store, { repair: false });
    assert.equal(report.ok, 4);
    assert.equal(report.corrupt, 2);
    assert.equal(report.quarantined, 0);
    assert.equal(report.corruptBytes, stored);
    assert.deepEqual(report.problems.map((p) => [p.id, p.kind, p.code, p.quarantined]).sort(), [
      [ids[1], 'corrupt', 'CHUNK_CORRUPT', false],
      [ids[4], 'corrupt', 'CHUNK_CORRUPT', false],
    ].sort());
    assert.equal(await store.has(ids[1]!), true);
  });

  it('with repair, quarantines the corrupt chunks: the store then reports them missing', async function () {
    await damage(ids[2]!);
    const report = await verifyChunks(store, { repair: true });
    assert.equal(report.corrupt, 1);
    assert.equal(report.quarantined, 1);
    assert.equal(report.problems[0]?.quarantined, true);
    assert.equal(await store.has(ids[2]!), false);
    const again = await verifyChunks(store, { repair: true });
    assert.deepEqual([again.chunks, again.ok, again.corrupt], [5, 5, 0]);
  });

  it('counts a chunk it cannot read as unreadable, and does not move it', async function () {
    // A directory under a chunk's name fails every read with EISDIR, also for root (unlike a chmod).
    const path = (await store.locate(ids[0]!))!.path;
    await rm(path);
    await mkdir(path);
    const report = await verifyChunks(store, { repair: true });
    assert.deepEqual([report.ok, report.unreadable, report.quarantined], [5, 1, 0]);
    assert.equal(report.problems[0]?.code, 'IO_ERROR');
    assert.equal(await store.has(ids[0]!), true);
  });

  it('stops when its signal aborts', async function () {
    const aborter = new AbortController();
    await assert.rejects(
      verifyChunks(store, { repair: false, signal: aborter.signal, onProgress: (p) => p.done === 2 && aborter.abort(new Error('stop')) }),
      /stop/,
    );
  });
});
