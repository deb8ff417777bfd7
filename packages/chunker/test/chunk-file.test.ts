import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  ChunkerCore,
  DEFAULT_PARAMS,
  InlineSha256,
  Sha256Worker,
  chunkFile,
  chunkId,
  chunkStream,
  type ChunkedFile,
} from '../src/index.js';
import { seededBytes } from '../src/testing.js';

const sha256 = (...parts: Uint8Array[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
};

function wholeBuffer(data: Uint8Array): ChunkedFile['chunks'] {
  const chunks: Array<{ id: string; length: number }> = [];
  const core = new ChunkerCore(DEFAULT_PARAMS);
  const sink = (_offset: number, bytes: Uint8Array) => chunks.push({ id: chunkId(bytes), length: bytes.length });
  core.push(data, sink);
  core.finish(sink);
  return chunks;
}

describe('chunkFile and chunkStream', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-chunker-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('give size, sha256, params and the whole-buffer chunks of a small file', async () => {
    const data = seededBytes(3 * 1024 * 1024 + 17, 5);
    const path = join(dir, 'small.bin');
    await writeFile(path, data);
    const scanned = await chunkFile(path);
    assert.equal(scanned.size, data.length);
    assert.equal(scanned.sha256, sha256(data));
    assert.deepEqual(scanned.params, DEFAULT_PARAMS);
    assert.deepEqual(scanned.chunks, wholeBuffer(data));
    const streamed = await chunkStream(Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
    assert.deepEqual(streamed, scanned);
  });

  it('hash sha256 on a worker thread for large files with the same result', async () => {
    const data = seededBytes(40 * 1024 * 1024, 6);
    const path = join(dir, 'large.bin');
    await writeFile(path, data);
    const scanned = await chunkFile(path);
    assert.equal(scanned.sha256, sha256(data));
    assert.deepEqual(scanned.chunks, wholeBuffer(data));
  });

  it('feed an LXD fingerprint (sha256 of metadata ‖ rootfs) in the same pass, on either sink', async () => {
    const metadata = seededBytes(20_000, 8);
    const rootfs = seededBytes(5 * 1024 * 1024, 9);
    await writeFile(join(dir, 'meta.tar'), metadata);
    await writeFile(join(dir, 'rootfs.squashfs'), rootfs);
    for (const sink of [new InlineSha256(), new Sha256Worker()]) {
      const fingerprint = sink.create();
      const meta = await chunkFile(join(dir, 'meta.tar'), { sha256: sink, alsoHash: [fingerprint] });
      const root = await chunkFile(join(dir, 'rootfs.squashfs'), { sha256: sink, alsoHash: [fingerprint] });
      assert.equal(await sink.digest(fingerprint), sha256(metadata, rootfs));
      assert.equal(meta.sha256, sha256(metadata));
      assert.equal(root.sha256, sha256(rootfs));
      await sink.close();
    }
  });

  it('report every chunk with its offset and bytes, and progress', async () => {
    const data = seededBytes(2 * 1024 * 1024, 10);
    const path = join(dir, 'events.bin');
    await writeFile(path, data);
    const seen: Array<{ offset: number; id: string }> = [];
    let progress = 0;
    const scanned = await chunkFile(path, {
      onChunk: ({ offset, id, bytes }) => {
        assert.equal(chunkId(bytes), id);
        assert.ok(Buffer.from(bytes).equals(data.subarray(offset, offset + bytes.length)));
        seen.push({ offset, id });
      },
      onProgress: (done) => {
        assert.ok(done >= progress);
        progress = done;
      },
    });
    assert.equal(progress, data.length);
    assert.deepEqual(seen.map((s) => s.id), scanned.chunks.map((c) => c.id));
  });

  it('handle an empty file', async () => {
    const path = join(dir, 'empty.bin');
    await writeFile(path, new Uint8Array(0));
    const scanned = await chunkFile(path);
    assert.deepEqual(scanned, { size: 0, sha256: sha256(new Uint8Array(0)), params: DEFAULT_PARAMS, method: 'cdc', chunks: [] });
  });

  it('stop when aborted', async () => {
    const path = join(dir, 'abort.bin');
    await writeFile(path, seededBytes(1024 * 1024, 11));
    await assert.rejects(chunkFile(path, { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('fail cleanly on a missing file', async () => {
    await assert.rejects(chunkFile(join(dir, 'nope')), { code: 'ENOENT' });
  });

  it('chunk a 4 GiB sparse file in bounded memory, past the library 2 GiB limit', async function () {
    this.timeout(120_000);
    const path = join(dir, 'sparse.img');
    const size = 4 * 1024 * 1024 * 1024;
    const tail = seededBytes(100_000, 12);
    const file = await open(path, 'w');
    await file.truncate(size - tail.length);
    await file.write(tail, 0, tail.length, size - tail.length);
    await file.close();

    const rssBefore = process.memoryUsage().rss;
    let peakRss = rssBefore;
    const scanned = await chunkFile(path, {
      onProgress: () => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      },
    });
    assert.equal(scanned.size, size);
    assert.equal(scanned.chunks.reduce((sum, c) => sum + c.length, 0), size);

    const expected = createHash('sha256');
    const zeros = new Uint8Array(64 * 1024 * 1024);
    for (let left = size - tail.length; left > 0; left -= zeros.length) expected.update(zeros.subarray(0, Math.min(left, zeros.length)));
    expected.update(tail);
    assert.equal(scanned.sha256, expected.digest('hex'));

    // Zeros have no content-defined cuts: every chunk of the hole is one max-size chunk, same id.
    let offset = 0;
    const hole = scanned.chunks.filter((c) => (offset += c.length) <= size - tail.length);
    assert.ok(hole.length >= Math.floor((size - tail.length) / DEFAULT_PARAMS.max) - 1);
    assert.ok(hole.every((c) => c.length === DEFAULT_PARAMS.max && c.id === hole[0]!.id));
    assert.ok(peakRss - rssBefore < 256 * 1024 * 1024, `rss grew by ${(peakRss - rssBefore) / 1e6} MB`);
  });
});
