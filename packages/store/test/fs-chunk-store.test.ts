import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkId } from '@lxchunk/chunker';
import { MAX_CHUNK_SIZE } from '@lxchunk/format';
import { Compressor, decompress } from 'zstd-napi';
import { FsChunkStore, type QuarantinedChunk } from '../src/index.js';

describe('FsChunkStore on disk', function () {
  let dir: string;
  let store: FsChunkStore;

  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-fs-store-'));
    store = await FsChunkStore.open({ dir });
  });

  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  const incompressible = (size = 64 * 1024): Uint8Array => new Uint8Array(randomBytes(size));
  const compressible = (size = 256 * 1024): Uint8Array => new Uint8Array(size).fill(0x20);

  async function allFiles(root: string): Promise<string[]> {
    const entries = await readdir(root, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length + 1)).sort();
  }

  async function listAll(s: FsChunkStore): Promise<string[]> {
    const ids: string[] = [];
    for await (const id of s.list()) ids.push(id);
    return ids;
  }

  async function listQuarantined(s: FsChunkStore): Promise<QuarantinedChunk[]> {
    const held: QuarantinedChunk[] = [];
    for await (const chunk of s.listQuarantined()) held.push(chunk);
    return held;
  }

  async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
      assert.equal((err as { code?: unknown }).code, code, String(err));
      return true;
    });
  }

  it('creates chunks/ and tmp/ on open', async function () {
    assert.deepEqual((await readdir(dir)).sort(), ['chunks', 'tmp']);
  });

  it('lays chunks out as chunks/<first 4 hex>/<id>.raw or .zst', async function () {
    const raw = incompressible();
    const zst = compressible();
    const rawId = chunkId(raw);
    const zstId = chunkId(zst);
    await store.put(rawId, raw);
    await store.put(zstId, zst);
    const rawPath = join('chunks', rawId.slice(0, 4), `${rawId}.raw`);
    const zstPath = join('chunks', zstId.slice(0, 4), `${zstId}.zst`);
    assert.deepEqual(await allFiles(dir), [rawPath, zstPath].sort());
    assert.deepEqual(await store.locate(rawId), { path: join(dir, rawPath), encoding: 'identity', storedSize: raw.length });
    assert.equal((await store.locate(zstId))?.path, join(dir, zstPath));
    assert.equal(store.pathOf(zstId, 'zstd'), join(dir, zstPath));
    assert.equal(await store.locate(chunkId(Uint8Array.of(1))), undefined);
  });

  it('stores incompressible data raw, byte for byte', async function () {
    const bytes = incompressible();
    const id = chunkId(bytes);
    const result = await store.put(id, bytes);
    assert.deepEqual(result, { stored: true, storedSize: bytes.length, encoding: 'identity' });
    assert.ok((await readFile(store.pathOf(id, 'identity'))).equals(bytes));
  });

  it('stores compressible data as a smaller zstd frame', async function () {
    const bytes = compressible();
    const id = chunkId(bytes);
    const result = await store.put(id, bytes);
    assert.equal(result.encoding, 'zstd');
    const onDisk = await readFile(store.pathOf(id, 'zstd'));
    assert.equal(onDisk.length, result.storedSize);
    assert.ok(onDisk.length < bytes.length / 10);
    assert.ok(decompress(onDisk).equals(bytes));
    assert.deepEqual(await store.stat(id), { id, size: bytes.length, storedSize: onDisk.length, encoding: 'zstd' });
  });

  it('keeps the zstd form only when it is at most 97% of the raw size', async function () {
    // Random bytes with a zero tail: zstd saves about the tail's share of the size.
    const withZeroTail = (zeroPercent: number): Uint8Array => {
      const bytes = new Uint8Array(100_000);
      bytes.set(randomBytes(100_000 - zeroPercent * 1000));
      return bytes;
    };
    for (const [zeroPercent, encoding] of [
      [1, 'identity'],
      [2, 'identity'],
      [5, 'zstd'],
    ] as const) {
      const bytes = withZeroTail(zeroPercent);
      assert.equal((await store.put(chunkId(bytes), bytes)).encoding, encoding, `${zeroPercent}% zeros`);
    }
  });

  it('reports a truncated .zst file as CHUNK_CORRUPT (has stays existence-only)', async function () {
    const bytes = compressible();
    const id = chunkId(bytes);
    const { storedSize } = await store.put(id, bytes);
    await truncate(store.pathOf(id, 'zstd'), Math.floor(storedSize / 2));
    await rejectsWithCode(store.get(id), 'CHUNK_CORRUPT');
    assert.equal(await store.has(id), true);
  });

  it('reports trailing bytes or a second frame after the zstd frame as CHUNK_CORRUPT', async function () {
    const bytes = compressible();
    const id = chunkId(bytes);
    await store.put(id, bytes);
    const path = store.pathOf(id, 'zstd');
    const frame = await readFile(path);
    await writeFile(path, Buffer.concat([frame, frame]));
    await rejectsWithCode(store.get(id), 'CHUNK_CORRUPT');
    await writeFile(path, Buffer.concat([frame, Buffer.of(0)]));
    await rejectsWithCode(store.get(id), 'CHUNK_CORRUPT');
  });

  it('refuses a zstd frame announcing more than MAX_CHUNK_SIZE without inflating it', async function () {
    const id = chunkId(Uint8Array.of(7));
    const compressor = new Compressor();
    compressor.setParameters({ compressionLevel: 1 });
    const bomb = compressor.compress(new Uint8Array(MAX_CHUNK_SIZE + 1));
    await mkdir(join(dir, 'chunks', id.slice(0, 4)), { recursive: true });
    await writeFile(store.pathOf(id, 'zstd'), bomb);
    await rejectsWithCode(store.get(id), 'CHUNK_CORRUPT');
    await rejectsWithCode(store.stat(id), 'CHUNK_CORRUPT');
  });

  for (const [label, make] of [
    ['.raw', incompressible],
    ['.zst', compressible],
  ] as const) {
    it(`repairs a zero-length ${label} file on put`, async function () {
      const bytes = make();
      const id = chunkId(bytes);
      const first = await store.put(id, bytes);
      const path = store.pathOf(id, first.encoding);
      await writeFile(path, new Uint8Array(0));
      await rejectsWithCode(store.get(id), 'CHUNK_CORRUPT');
      const repaired = await store.put(id, bytes);
      assert.deepEqual(repaired, first);
      assert.ok(Buffer.from(await store.get(id)).equals(bytes));
      assert.equal((await readFile(path)).length, first.storedSize);
    });
  }

  it('quarantine renames the damaged file into quarantine/ byte for byte and tells onQuarantine', async function () {
    const told: unknown[] = [];
    const watched = await FsChunkStore.open({ dir, onQuarantine: (chunk) => told.push(chunk) });
    const bytes = incompressible(3000);
    const id = chunkId(bytes);
    await watched.put(id, bytes);
    const damaged = Buffer.from(bytes);
    damaged[7] = damaged[7]! ^ 1;
    await writeFile(watched.pathOf(id, 'identity'), damaged);
    const before = Date.now();
    assert.deepEqual(await watched.quarantine(id), { quarantined: true, storedSize: 3000 });
    const [name, ...others] = await readdir(join(dir, 'quarantine'));
    assert.deepEqual(others, []);
    assert.match(name!, new RegExp(`^${id}\\.\\d+\\.[0-9a-f]{8}\\.raw$`));
    assert.ok((await readFile(join(dir, 'quarantine', name!))).equals(damaged), 'the damaged bytes are kept as they were');
    assert.deepEqual(await allFiles(join(dir, 'chunks')).catch(() => []), []);
    assert.equal(told.length, 1);
    const event = told[0] as { id: string; encoding: string; storedSize: number; at: number; path: string };
    assert.deepEqual({ ...event, at: 0 }, { id, encoding: 'identity', storedSize: 3000, at: 0, path: join(dir, 'quarantine', name!) });
    assert.ok(event.at >= before);
    assert.deepEqual(
      (await listQuarantined(watched)).map((q) => ({ ...q, at: 0 })),
      [{ id, encoding: 'identity', storedSize: 3000, at: 0 }],
    );
  });

  it('quarantines a .raw file too large to be read, moving only the damaged copy', async function () {
    const bytes = compressible(8192);
    const id = chunkId(bytes);
    await store.put(id, bytes);
    const tooLarge = new Uint8Array(MAX_CHUNK_SIZE + 1);
    await writeFile(store.pathOf(id, 'identity'), tooLarge);
    assert.deepEqual(await store.quarantine(id), { quarantined: true, storedSize: tooLarge.length });
    assert.ok(Buffer.from(await store.get(id)).equals(bytes), 'the intact .zst copy stays');
  });

  it('prefers a valid copy when both encodings exist, and lists the id once', async function () {
    // Happens only when writers used different compression levels; both files are then valid.
    const bytes = compressible(8192);
    const id = chunkId(bytes);
    await store.put(id, bytes);
    await writeFile(store.pathOf(id, 'identity'), new Uint8Array(0));
    assert.ok(Buffer.from(await store.get(id)).equals(bytes));
    assert.deepEqual(await listAll(store), [id]);
    assert.equal(await store.delete(id), true);
    assert.deepEqual(await allFiles(dir), []);
  });

  it('ignores temp files and stray names in list; cleanTemp removes only stale temp files', async function () {
    const bytes = incompressible(1000);
    const id = chunkId(bytes);
    await store.put(id, bytes);
    const fanout = join(dir, 'chunks', id.slice(0, 4));
    const other = 'b'.repeat(64);
    await writeFile(join(fanout, `${other}.raw.tmp`), 'x');
    await writeFile(join(fanout, `${other.toUpperCase()}.raw`), 'x');
    await writeFile(join(dir, 'chunks', `${other}.raw`), 'x');
    await writeFile(join(dir, 'chunks', 'ffff'), 'not a directory');
    const stale = join(dir, 'tmp', `${other}.1234.dead.tmp`);
    const fresh = join(dir, 'tmp', `${other}.1234.live.tmp`);
    await writeFile(stale, 'partial');
    await writeFile(fresh, 'in progress');
    const hourAgo = new Date(Date.now() - 3600_000);
    await utimes(stale, hourAgo, hourAgo);

    assert.deepEqual(await listAll(store), [id]);
    assert.equal(await store.cleanTemp(60_000), 1);
    assert.deepEqual(await readdir(join(dir, 'tmp')), [`${other}.1234.live.tmp`]);
    assert.equal(await store.cleanTemp(0), 1);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
    await rejectsWithCode(store.cleanTemp(-1), 'INVALID_INPUT');
  });

  it('lets two instances on one directory write the same 100 chunks concurrently', async function () {
    const other = new FsChunkStore({ dir, fsync: false });
    const chunks = Array.from({ length: 100 }, (_, i) => {
      const bytes = i % 2 === 0 ? incompressible(2000 + i) : compressible(4000 + i);
      return { id: chunkId(bytes), bytes };
    });
    const results = await Promise.all(
      [store, other].flatMap((s) => chunks.map(({ id, bytes }) => s.put(id, bytes.slice()))),
    );
    assert.equal(results.length, 200);
    const ids = chunks.map((c) => c.id).sort();
    assert.deepEqual((await listAll(store)).sort(), ids);
    assert.deepEqual((await listAll(other)).sort(), ids);
    for (const { id, bytes } of chunks) assert.ok(Buffer.from(await other.get(id)).equals(bytes));
    const files = await allFiles(dir);
    assert.equal(files.length, 100);
    assert.ok(files.every((f) => f.startsWith('chunks')));
  });

  it('writes nothing, temp files included, when put fails verification', async function () {
    const bytes = incompressible(5000);
    await rejectsWithCode(store.put(chunkId(Uint8Array.of(0)), bytes), 'HASH_MISMATCH');
    assert.deepEqual(await allFiles(dir), []);
    const id = chunkId(bytes);
    await store.put(id, bytes);
    assert.deepEqual(await readdir(join(dir, 'tmp')), []);
  });

  it('works when constructed without open(): directories are created on first put', async function () {
    const fresh = join(dir, 'fresh');
    const lazy = new FsChunkStore({ dir: fresh });
    assert.deepEqual(await listAll(lazy), []);
    assert.equal(await lazy.cleanTemp(0), 0);
    const bytes = incompressible(100);
    const id = chunkId(bytes);
    assert.equal((await lazy.put(id, bytes)).stored, true);
    assert.deepEqual(await listAll(lazy), [id]);
  });

  it('reports filesystem failures other than absence as IO_ERROR', async function () {
    const id = chunkId(Uint8Array.of(3));
    await mkdir(store.pathOf(id, 'identity'), { recursive: true });
    await rejectsWithCode(store.get(id), 'IO_ERROR');
  });
});
