import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chunkId } from '@lxchunk/chunker';
import type { ErrorCode } from '@lxchunk/errors';
import { MAX_CHUNK_SIZE } from '@lxchunk/format';
import type { ChunkStore, QuarantinedChunk } from './chunk-store.js';

export interface StoreFixture {
  readonly store: ChunkStore;
  /** Damages the stored bytes of a chunk that is in the store, in a store-specific way. */
  corrupt(id: string): Promise<void>;
  /** Releases everything the fixture created (temp directories, buckets). */
  cleanup(): Promise<void>;
  /** True when the store must hold compressible chunks zstd-compressed (checked on 256 KiB zeros). */
  readonly compresses?: boolean;
}

const INVALID_IDS: readonly [string, unknown][] = [
  ['uppercase hex', 'A'.repeat(64)],
  ['63 characters', 'a'.repeat(63)],
  ['65 characters', 'a'.repeat(65)],
  ['a path escape', '../' + 'a'.repeat(61)],
  ['a path separator', 'ab/' + 'c'.repeat(61)],
  ['the empty string', ''],
  ['a number', 42],
  ['undefined', undefined],
];

/**
 * The contract every ChunkStore implementation must meet, as a mocha suite: call it from a test
 * file with a factory that makes a fresh, empty store (one per test). Uses mocha's globals.
 */
export function describeChunkStoreConformance(name: string, factory: () => Promise<StoreFixture>): void {
  describe(`ChunkStore conformance: ${name}`, function () {
    let fixture: StoreFixture | undefined;
    const fx = (): StoreFixture => {
      assert.ok(fixture, 'fixture not created');
      return fixture;
    };

    beforeEach(async function () {
      fixture = await factory();
    });

    afterEach(async function () {
      const done = fixture;
      fixture = undefined;
      await done?.cleanup();
    });

    describe('put and get', function () {
      it('round-trips the empty chunk (BLAKE3 of no bytes is a valid id)', async function () {
        const { store } = fx();
        const bytes = new Uint8Array(0);
        const id = chunkId(bytes);
        const result = await store.put(id, bytes);
        assert.equal(result.stored, true);
        assertSameBytes(await store.get(id), bytes);
        assert.deepEqual(await store.stat(id), { id, size: 0, storedSize: 0, encoding: 'identity' });
      });

      it('round-trips a 1-byte chunk', async function () {
        const { store } = fx();
        const bytes = Uint8Array.of(0x5a);
        const id = chunkId(bytes);
        assert.equal((await store.put(id, bytes)).stored, true);
        assertSameBytes(await store.get(id), bytes);
        assert.equal((await store.stat(id))?.size, 1);
      });

      it('holds 64 KiB of random (incompressible) bytes as-is', async function () {
        const { store } = fx();
        const bytes = new Uint8Array(randomBytes(64 * 1024));
        const id = chunkId(bytes);
        const result = await store.put(id, bytes);
        assert.deepEqual(result, { stored: true, storedSize: bytes.length, encoding: 'identity' });
        assertSameBytes(await store.get(id), bytes);
        assert.deepEqual(await store.stat(id), { id, size: bytes.length, storedSize: bytes.length, encoding: 'identity' });
      });

      it('round-trips 256 KiB of zeros (compressible)', async function () {
        const { store, compresses } = fx();
        const bytes = new Uint8Array(256 * 1024);
        const id = chunkId(bytes);
        const result = await store.put(id, bytes);
        assertSameBytes(await store.get(id), bytes);
        const stat = await store.stat(id);
        assert.ok(stat);
        assert.equal(stat.size, bytes.length);
        assert.equal(stat.encoding, result.encoding);
        assert.equal(stat.storedSize, result.storedSize);
        if (compresses) assert.equal(stat.encoding, 'zstd');
        if (stat.encoding === 'zstd') assert.ok(stat.storedSize < stat.size, `stored ${stat.storedSize} bytes`);
        else assert.equal(stat.storedSize, stat.size);
      });

      it('reports has and stat only after put', async function () {
        const { store } = fx();
        const bytes = new Uint8Array(randomBytes(100));
        const id = chunkId(bytes);
        assert.equal(await store.has(id), false);
        assert.equal(await store.stat(id), undefined);
        await store.put(id, bytes);
        assert.equal(await store.has(id), true);
        assert.deepEqual(await store.stat(id), { id, size: 100, storedSize: 100, encoding: 'identity' });
      });

      it('reports stored: false when the chunk is already there', async function () {
        const { store } = fx();
        const bytes = new Uint8Array(4096).fill(7);
        const id = chunkId(bytes);
        const first = await store.put(id, bytes);
        const second = await store.put(id, bytes);
        assert.equal(first.stored, true);
        assert.deepEqual(second, { ...first, stored: false });
        assertSameBytes(await store.get(id), bytes);
      });

      it('keeps its own copy: neither the caller’s buffer nor a returned one aliases the store', async function () {
        const { store } = fx();
        const bytes = Uint8Array.of(1, 2, 3, 4);
        const original = bytes.slice();
        const id = chunkId(bytes);
        await store.put(id, bytes);
        bytes[0] = 99;
        const got = await store.get(id);
        assertSameBytes(got, original);
        got[1] = 99;
        assertSameBytes(await store.get(id), original);
      });

      it('rejects bytes that do not hash to the id (HASH_MISMATCH) and stores nothing', async function () {
        const { store } = fx();
        const bytes = new Uint8Array(randomBytes(1000));
        const wrongId = chunkId(Uint8Array.of(1));
        await rejectsWithCode(store.put(wrongId, bytes), 'HASH_MISMATCH');
        assert.equal(await store.has(wrongId), false);
        assert.equal(await store.has(chunkId(bytes)), false);
        assert.deepEqual(await listAll(store), []);
      });

      it('rejects a value that is not a Uint8Array, and chunks beyond MAX_CHUNK_SIZE (INVALID_INPUT)', async function () {
        const { store } = fx();
        const id = chunkId(new Uint8Array(0));
        await rejectsWithCode(store.put(id, 'text' as unknown as Uint8Array), 'INVALID_INPUT');
        await rejectsWithCode(store.put(id, new Uint8Array(MAX_CHUNK_SIZE + 1)), 'INVALID_INPUT');
        assert.deepEqual(await listAll(store), []);
      });
    });

    describe('invalid ids', function () {
      for (const [label, bad] of INVALID_IDS) {
        it(`rejects ${label} with INVALID_ID in every method`, async function () {
          const { store } = fx();
          const id = bad as string;
          await rejectsWithCode(store.has(id), 'INVALID_ID');
          await rejectsWithCode(store.get(id), 'INVALID_ID');
          await rejectsWithCode(store.stat(id), 'INVALID_ID');
          await rejectsWithCode(store.put(id, Uint8Array.of(1)), 'INVALID_ID');
          await rejectsWithCode(store.delete(id), 'INVALID_ID');
          await rejectsWithCode(store.quarantine(id), 'INVALID_ID');
          assert.deepEqual(await listAll(store), []);
        });
      }
    });

    describe('missing and corrupt chunks', function () {
      it('get of a missing chunk throws CHUNK_NOT_FOUND', async function () {
        const { store } = fx();
        const id = chunkId(Uint8Array.of(9, 9, 9));
        await rejectsWithCode(store.get(id), 'CHUNK_NOT_FOUND');
      });

      for (const [kind, make] of [
        ['incompressible', () => new Uint8Array(randomBytes(8192))],
        ['compressible', () => new Uint8Array(64 * 1024).fill(0x41)],
      ] as const) {
        it(`get of a corrupted ${kind} chunk throws CHUNK_CORRUPT, never the bytes`, async function () {
          const { store, corrupt } = fx();
          const bytes = make();
          const id = chunkId(bytes);
          await store.put(id, bytes);
          await corrupt(id);
          await rejectsWithCode(store.get(id), 'CHUNK_CORRUPT');
        });

        it(`put repairs a corrupted ${kind} chunk and keeps the damaged copy in quarantine`, async function () {
          const { store, corrupt } = fx();
          const bytes = make();
          const id = chunkId(bytes);
          await store.put(id, bytes);
          await corrupt(id);
          const result = await store.put(id, bytes);
          assert.equal(result.stored, true);
          assertSameBytes(await store.get(id), bytes);
          assert.deepEqual(await listAll(store), [id]);
          assert.deepEqual((await quarantinedIds(store)), [id]);
        });

        it(`quarantine moves a corrupted ${kind} chunk aside: missing from then on, until a put restores it`, async function () {
          const { store, corrupt } = fx();
          const bytes = make();
          const id = chunkId(bytes);
          const { storedSize, encoding } = await store.put(id, bytes);
          await corrupt(id);
          assert.deepEqual(await store.quarantine(id), { quarantined: true, storedSize });
          assert.equal(await store.has(id), false);
          assert.equal(await store.stat(id), undefined);
          await rejectsWithCode(store.get(id), 'CHUNK_NOT_FOUND');
          assert.deepEqual(await listAll(store), []);
          const held = await listQuarantinedAll(store);
          assert.deepEqual(held.map(({ id, encoding, storedSize }) => ({ id, encoding, storedSize })), [{ id, encoding, storedSize }]);
          assert.deepEqual(await store.quarantine(id), { quarantined: false, storedSize: 0 }, 'nothing left to move');
          assert.equal((await store.put(id, bytes)).stored, true);
          assertSameBytes(await store.get(id), bytes);
        });
      }
    });

    describe('quarantine', function () {
      it('leaves an intact chunk in place and moves nothing for an absent one', async function () {
        const { store } = fx();
        const bytes = new Uint8Array(randomBytes(2000));
        const id = chunkId(bytes);
        await store.put(id, bytes);
        assert.deepEqual(await store.quarantine(id), { quarantined: false, storedSize: 0 });
        assertSameBytes(await store.get(id), bytes);
        assert.deepEqual(await store.quarantine(chunkId(Uint8Array.of(3))), { quarantined: false, storedSize: 0 });
        assert.deepEqual(await listQuarantinedAll(store), []);
      });

      it('a quarantine racing a repairing put never leaves the chunk missing or corrupt', async function () {
        const { store, corrupt } = fx();
        const bytes = new Uint8Array(randomBytes(16 * 1024));
        const id = chunkId(bytes);
        await store.put(id, bytes);
        for (let round = 0; round < 5; round++) {
          await corrupt(id);
          // Either order is fine: a quarantine first, then the put writes; or the put repairs, and the quarantine finds it intact.
          const [quarantined, put] = await Promise.all([store.quarantine(id), store.put(id, bytes)]);
          assert.ok(quarantined.quarantined || put.stored, 'the corrupt copy was neither moved nor replaced');
          assertSameBytes(await store.get(id), bytes);
          assert.equal(await store.has(id), true);
        }
        assert.deepEqual(await quarantinedIds(store), Array.from({ length: 5 }, () => id));
      });
    });

    describe('delete and list', function () {
      it('delete removes the chunk', async function () {
        const { store } = fx();
        const bytes = Uint8Array.of(1, 2, 3);
        const id = chunkId(bytes);
        await store.put(id, bytes);
        assert.equal(await store.delete(id), true);
        assert.equal(await store.has(id), false);
        assert.equal(await store.stat(id), undefined);
        await rejectsWithCode(store.get(id), 'CHUNK_NOT_FOUND');
        assert.deepEqual(await listAll(store), []);
      });

      it('delete of a missing chunk returns false', async function () {
        const { store } = fx();
        assert.equal(await store.delete(chunkId(Uint8Array.of(4))), false);
      });

      it('list yields exactly the stored ids, once each', async function () {
        const { store } = fx();
        assert.deepEqual(await listAll(store), []);
        const [a, b, c, d] = [new Uint8Array(0), new Uint8Array(1000), new Uint8Array(randomBytes(3000)), Uint8Array.of(1, 2)].map(
          (bytes) => ({ id: chunkId(bytes), bytes }),
        ) as [Chunk, Chunk, Chunk, Chunk];
        for (const { id, bytes } of [a, b, c, d, b]) await store.put(id, bytes);
        assert.equal(await store.delete(c.id), true);
        assert.deepEqual((await listAll(store)).sort(), [a.id, b.id, d.id].sort());
      });
    });

    describe('concurrency', function () {
      it('50 concurrent puts of one chunk leave one valid chunk', async function () {
        const { store } = fx();
        const bytes = new Uint8Array(randomBytes(32 * 1024));
        const id = chunkId(bytes);
        const results = await Promise.all(Array.from({ length: 50 }, () => store.put(id, bytes.slice())));
        assert.ok(results.some((r) => r.stored), 'no put reported storing the chunk');
        for (const r of results) assert.deepEqual(r.encoding, 'identity');
        assertSameBytes(await store.get(id), bytes);
        assert.deepEqual(await listAll(store), [id]);
      });

      it('200 concurrent puts of different chunks are all listed and readable', async function () {
        const { store } = fx();
        const chunks: Chunk[] = Array.from({ length: 200 }, (_, i) => {
          // Half incompressible, half compressible, so both encodings are exercised.
          const bytes = i % 2 === 0 ? new Uint8Array(randomBytes(1024 + i)) : new Uint8Array(2048 + i).fill(i);
          return { id: chunkId(bytes), bytes };
        });
        const results = await Promise.all(chunks.map(({ id, bytes }) => store.put(id, bytes)));
        assert.ok(results.every((r) => r.stored));
        assert.deepEqual((await listAll(store)).sort(), chunks.map((c) => c.id).sort());
        const read = await Promise.all(chunks.map(({ id }) => store.get(id)));
        read.forEach((bytes, i) => assertSameBytes(bytes, chunks[i]?.bytes ?? new Uint8Array()));
      });
    });
  });
}

interface Chunk {
  readonly id: string;
  readonly bytes: Uint8Array;
}

async function listAll(store: ChunkStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const id of store.list()) ids.push(id);
  return ids;
}

async function listQuarantinedAll(store: ChunkStore): Promise<QuarantinedChunk[]> {
  const held: QuarantinedChunk[] = [];
  for await (const chunk of store.listQuarantined()) held.push(chunk);
  return held;
}

async function quarantinedIds(store: ChunkStore): Promise<string[]> {
  return (await listQuarantinedAll(store)).map((chunk) => chunk.id);
}

async function rejectsWithCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, `expected ${code}, got ${String(err)}`);
    return true;
  });
}

// deepEqual on two 256 KiB arrays builds huge diffs on failure; compare as Buffers instead.
function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.ok(actual instanceof Uint8Array, 'not a Uint8Array');
  assert.equal(actual.length, expected.length, 'length differs');
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected), 'bytes differ');
}
