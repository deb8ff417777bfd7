import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chunkId } from '@lxchunk/chunker';
import { seededBytes } from '@lxchunk/chunker/testing';
import { isLxchunkError } from '@lxchunk/errors';
import { FsChunkStore, ReadThroughCache, type ChunkSource, type FetchOptions, type OnFetchedChunk } from '../src/index.js';

/**
 * A remote backed by a real store on disk, as a chunk server is; it notes what it was asked for.
 * `forged` ids are answered with other bytes, as a broken remote would send them.
 */
class StoreSource implements ChunkSource {
  readonly asked: string[] = [];
  readonly forged = new Set<string>();

  constructor(private readonly store: FsChunkStore) {}

  async getChunk(id: string): Promise<Uint8Array> {
    this.asked.push(id);
    return this.answer(id, await this.store.get(id));
  }

  async fetchChunks(ids: readonly string[], onChunk: OnFetchedChunk, options: FetchOptions = {}): Promise<{ missing: string[] }> {
    const missing: string[] = [];
    for (const id of ids) {
      options.signal?.throwIfAborted();
      this.asked.push(id);
      if (await this.store.has(id)) await onChunk(id, this.answer(id, await this.store.get(id)));
      else missing.push(id);
    }
    return { missing };
  }

  private answer(id: string, bytes: Uint8Array): Uint8Array {
    if (!this.forged.has(id)) return bytes;
    const other = bytes.slice();
    other[0]! ^= 0xff;
    return other;
  }
}

describe('ReadThroughCache (real stores on disk)', () => {
  let dir: string;
  let cache: FsChunkStore;
  let remote: StoreSource;
  let through: ReadThroughCache;
  const chunks = [1, 2, 3, 4, 5].map((seed) => seededBytes(10_000 + seed, seed));
  const [a, b, c, d, absent] = chunks.map((bytes) => chunkId(bytes)) as [string, string, string, string, string];
  const bytesOf = (id: string) => chunks.find((bytes) => chunkId(bytes) === id)!;
  // Stores hand out Buffers, the fixtures are plain Uint8Arrays: compare the bytes.
  const sameBytes = (actual: Uint8Array, id: string) => assert.ok(Buffer.from(actual).equals(bytesOf(id)), `the bytes of ${id}`);

  /** Damages the cached copy of `id` on disk, as a bad sector or a crash would. */
  const damage = async (id: string) => {
    const { path } = (await cache.locate(id))!;
    const stored = await readFile(path);
    stored[stored.length - 1]! ^= 0xff;
    await writeFile(path, stored);
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-read-through-'));
    cache = await FsChunkStore.open({ dir: join(dir, 'cache'), fsync: false });
    const remoteStore = await FsChunkStore.open({ dir: join(dir, 'remote'), fsync: false });
    for (const id of [a, b, c, d]) await remoteStore.put(id, bytesOf(id));
    remote = new StoreSource(remoteStore);
    through = new ReadThroughCache(remote, cache);
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  describe('getChunk', () => {
    it('reads a chunk the cache holds from it, without asking the remote', async () => {
      await cache.put(a, bytesOf(a));
      sameBytes(await through.getChunk(a), a);
      assert.deepEqual(remote.asked, []);
    });

    it('fetches a chunk the cache lacks and keeps it there, on disk', async () => {
      sameBytes(await through.getChunk(b), b);
      assert.deepEqual(remote.asked, [b]);
      const reopened = await FsChunkStore.open({ dir: join(dir, 'cache') });
      sameBytes(await reopened.get(b), b);
    });

    it('fetches in place of a corrupt cached copy, which the fetched one replaces (the bad one kept aside)', async () => {
      await cache.put(c, bytesOf(c));
      await damage(c);
      sameBytes(await through.getChunk(c), c);
      assert.deepEqual(remote.asked, [c]);
      sameBytes(await cache.get(c), c);
      const quarantined: string[] = [];
      for await (const chunk of cache.listQuarantined()) quarantined.push(chunk.id);
      assert.deepEqual(quarantined, [c]);
    });

    it("passes on the remote's CHUNK_NOT_FOUND, and refuses and does not keep bytes that do not hash to the id", async () => {
      await assert.rejects(through.getChunk(absent), (err) => isLxchunkError(err, 'CHUNK_NOT_FOUND'));
      remote.forged.add(d);
      await assert.rejects(through.getChunk(d), (err) => isLxchunkError(err, 'CHUNK_CORRUPT'));
      assert.equal(await cache.has(d), false);
    });
  });

  describe('fetchChunks', () => {
    it('delivers each chunk once: intact cached ones from the cache, the rest from the remote, kept in the cache', async () => {
      await cache.put(a, bytesOf(a));
      await cache.put(c, bytesOf(c));
      await damage(c);
      const delivered = new Map<string, Uint8Array>();
      const { missing } = await through.fetchChunks([a, b, c, absent, b], (id, bytes) => {
        assert.ok(!delivered.has(id), `${id} delivered twice`);
        delivered.set(id, bytes);
      });
      assert.deepEqual(missing, [absent]);
      assert.deepEqual([...delivered.keys()], [a, b, c]);
      for (const [id, bytes] of delivered) sameBytes(bytes, id);
      assert.deepEqual(remote.asked, [b, c, absent], 'the remote is asked only for what the cache does not hold intact');
      for (const id of [a, b, c]) sameBytes(await cache.get(id), id);
      assert.equal(await cache.has(absent), false);
    });

    it('hands over no bytes that do not hash to their id, and keeps none', async () => {
      remote.forged.add(d);
      const delivered: string[] = [];
      await assert.rejects(
        through.fetchChunks([b, d], (id) => void delivered.push(id)),
        (err) => isLxchunkError(err, 'CHUNK_CORRUPT') && err.message.includes(d),
      );
      assert.deepEqual(delivered, [b]);
      assert.equal(await cache.has(d), false);
    });

    it('stops when its signal is aborted', async () => {
      await cache.put(a, bytesOf(a));
      const controller = new AbortController();
      const delivered: string[] = [];
      await assert.rejects(
        through.fetchChunks([a, b], (id) => {
          delivered.push(id);
          controller.abort(new Error('stopped'));
        }, { signal: controller.signal }),
        /stopped/,
      );
      assert.deepEqual(delivered, [a]);
      assert.deepEqual(remote.asked, []);
    });
  });
});
