import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { chunkId } from '@lxchunk/chunker';
import { ChunkEncoder, decodeChunk } from '@lxchunk/format';
import { describeChunkStoreConformance, type StoreFixture } from '../src/conformance.js';
import type { ChunkStore } from '../src/index.js';
import { S3ChunkStore, parseS3Url } from '../src/s3.js';
import { createTestBucket, startMotoServer, testS3Client, type MotoServer, type TestBucket } from '../src/testing/index.js';

// One moto process for the file; a fresh bucket per test.
describe('S3ChunkStore (on moto_server)', function () {
  let moto: MotoServer | undefined;
  const server = (): MotoServer => {
    assert.ok(moto, 'moto_server not started');
    return moto;
  };

  before(async function () {
    this.timeout(60_000);
    moto = await startMotoServer();
  });

  after(async function () {
    await moto?.stop();
  });

  describeChunkStoreConformance('S3ChunkStore', async (): Promise<StoreFixture> => {
    const testBucket = await createTestBucket(server().endpoint);
    const store = new S3ChunkStore({ bucket: testBucket.bucket, prefix: 'store', client: testBucket.client });
    return {
      store,
      compresses: true,
      corrupt: (id) => corruptObject(testBucket.client, testBucket.bucket, store.keyOf(id)),
      cleanup: () => testBucket.remove(),
    };
  });

  describe('S3 specifics', function () {
    let testBucket: TestBucket | undefined;
    const tb = (): TestBucket => {
      assert.ok(testBucket, 'bucket not created');
      return testBucket;
    };
    const storeAt = (prefix?: string): S3ChunkStore => new S3ChunkStore({ bucket: tb().bucket, prefix, client: tb().client });

    beforeEach(async function () {
      testBucket = await createTestBucket(server().endpoint);
    });

    afterEach(async function () {
      await testBucket?.remove();
      testBucket = undefined;
    });

    it('keeps stores with different prefixes of one bucket apart (the root, one, one/two)', async function () {
      const stores = [storeAt(), storeAt('one'), storeAt('/one/two/')];
      assert.deepEqual(
        stores.map((s) => s.prefix),
        ['', 'one', 'one/two'],
      );
      const chunks = stores.map(() => new Uint8Array(randomBytes(500)));
      const ids = chunks.map((bytes) => chunkId(bytes));
      await Promise.all(stores.map((store, i) => store.put(ids[i]!, chunks[i]!)));
      for (const [i, store] of stores.entries()) {
        assert.deepEqual(await listAll(store), [ids[i]]);
        for (const [j, id] of ids.entries()) assert.equal(await store.has(id), i === j);
      }
      // A quarantine in one prefix is not another's.
      await corruptObject(tb().client, tb().bucket, stores[1]!.keyOf(ids[1]!));
      assert.equal((await stores[1]!.quarantine(ids[1]!)).quarantined, true);
      assert.equal((await listQuarantined(stores[1]!)).length, 1);
      assert.deepEqual(await listQuarantined(stores[0]!), []);
      assert.deepEqual(await listQuarantined(stores[2]!), []);
      assert.deepEqual(await listAll(stores[0]!), [ids[0]]);
    });

    it('lays chunks out as <prefix>/<4 hex>/<id>, with Content-Encoding and the size as metadata', async function () {
      const store = storeAt('layout');
      const zeros = new Uint8Array(100_000);
      const random = new Uint8Array(randomBytes(3000));
      await store.put(chunkId(zeros), zeros);
      await store.put(chunkId(random), random);
      const id = chunkId(zeros);
      assert.equal(store.keyOf(id), `layout/${id.slice(0, 4)}/${id}`);
      const zstdHead = await tb().client.send(new HeadObjectCommand({ Bucket: tb().bucket, Key: store.keyOf(id) }));
      assert.equal(zstdHead.ContentEncoding, 'zstd');
      assert.equal(zstdHead.Metadata?.size, '100000');
      const rawHead = await tb().client.send(new HeadObjectCommand({ Bucket: tb().bucket, Key: store.keyOf(chunkId(random)) }));
      assert.equal(rawHead.ContentEncoding, undefined);
      assert.equal(rawHead.ContentLength, 3000);
      const stored = await store.readStored(id);
      assert.equal(stored?.encoding, 'zstd');
      assert.ok(stored.stored.length < 1000);
      assert.equal(decodeChunk(id, 'zstd', stored.stored).length, 100_000);
      assert.equal(await store.readStored(chunkId(Uint8Array.of(1))), undefined);
    });

    it('stats a zstd object written without the size metadata from its frame header', async function () {
      const store = storeAt('foreign');
      const bytes = new Uint8Array(50_000).fill(3);
      const id = chunkId(bytes);
      const { stored } = new ChunkEncoder().encode(bytes);
      await tb().client.send(new PutObjectCommand({ Bucket: tb().bucket, Key: store.keyOf(id), Body: stored, ContentEncoding: 'zstd' }));
      assert.deepEqual(await store.stat(id), { id, size: 50_000, storedSize: stored.length, encoding: 'zstd' });
      assertSameBytes(await store.get(id), bytes);
    });

    it('lists only chunk keys: strays and the quarantine area are skipped', async function () {
      const store = storeAt('p');
      const bytes = Uint8Array.of(7, 7, 7);
      const id = chunkId(bytes);
      await store.put(id, bytes);
      const other = chunkId(Uint8Array.of(8));
      for (const key of ['p/README', `p/${id.slice(0, 4)}/not-an-id`, `p/0000/${other}`, `p/quarantine/${other}.1.abcdef01`, `p/${id.slice(0, 4)}/${id}.tmp`]) {
        await tb().client.send(new PutObjectCommand({ Bucket: tb().bucket, Key: key, Body: Uint8Array.of(1) }));
      }
      assert.deepEqual(await listAll(store), [id]);
    });

    it('works through fromUrl with AWS_ENDPOINT_URL_S3 and dummy credentials from the environment', async function () {
      const direct = storeAt('via-url');
      const bytes = new Uint8Array(64 * 1024).fill(9);
      const id = chunkId(bytes);
      const { storedSize } = await direct.put(id, bytes);
      // The SDK reads the environment when it first sends, so it stays set throughout.
      await withEnv({ ...server().env, AWS_ENDPOINT_URL: undefined, AWS_PROFILE: undefined }, async () => {
        const store = S3ChunkStore.fromUrl(`s3://${tb().bucket}/via-url/`);
        try {
          assert.equal(store.bucket, tb().bucket);
          assert.equal(store.prefix, 'via-url');
          assert.equal(await store.has(id), true);
          assert.deepEqual(await store.stat(id), { id, size: bytes.length, storedSize, encoding: 'zstd' });
          assertSameBytes(await store.get(id), bytes);
        } finally {
          store.close();
        }
      });
    });

    it('refuses a malformed s3:// URL with INVALID_INPUT', function () {
      for (const bad of ['http://bucket/x', 's3://', 's3://Upper_Case', 's3://ab', 's3://bucket/a//b', 's3://bucket/../x', 's3://bucket/x?y=1']) {
        assert.throws(() => parseS3Url(bad), hasCode('INVALID_INPUT'), bad);
        assert.throws(() => S3ChunkStore.fromUrl(bad), hasCode('INVALID_INPUT'), bad);
      }
      assert.deepEqual(parseS3Url('s3://my.bucket-1'), { bucket: 'my.bucket-1', prefix: '' });
      assert.deepEqual(parseS3Url('s3://b12/x/y/'), { bucket: 'b12', prefix: 'x/y' });
    });

    it('signs a GET that answers the stored bytes with the right Content-Encoding', async function () {
      const store = storeAt('signed');
      for (const bytes of [new Uint8Array(200_000).fill(1), new Uint8Array(randomBytes(5000))]) {
        const id = chunkId(bytes);
        const { encoding } = await store.put(id, bytes);
        const signed = await store.signedUrl(id, 60);
        assert.ok(signed);
        assert.equal(signed.encoding, encoding);
        const response = await fetch(signed.url);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('content-encoding') ?? 'identity', encoding);
        const body = new Uint8Array(await response.arrayBuffer());
        // Node 20's fetch leaves zstd alone (it decodes gzip, deflate and br only).
        assertSameBytes(decodeChunk(id, encoding, body), bytes);
      }
      assert.equal(await store.signedUrl(chunkId(Uint8Array.of(5)), 60), undefined);
      const id = chunkId(Uint8Array.of(6));
      for (const seconds of [0, -1, 1.5, 8 * 24 * 3600, Number.NaN]) await assert.rejects(store.signedUrl(id, seconds), hasCode('INVALID_INPUT'));
      await assert.rejects(store.signedUrl('x', 60), hasCode('INVALID_ID'));
    });

    it('deleteMany removes many chunks in batches of 1000 and reports them', async function () {
      const store = storeAt('gc');
      const chunks = Array.from({ length: 6 }, (_, i) => Uint8Array.of(i, i, i));
      const ids = chunks.map((bytes) => chunkId(bytes));
      await Promise.all(chunks.map((bytes, i) => store.put(ids[i]!, bytes)));
      const absent = Array.from({ length: 1200 }, (_, i) => chunkId(new Uint8Array(Uint32Array.of(i, 0xdead).buffer)));
      const deleted = await store.deleteMany([ids[0]!, ids[2]!, ...absent, ids[4]!, ids[0]!]);
      for (const id of [ids[0]!, ids[2]!, ids[4]!]) assert.ok(deleted.has(id), `${id} not reported deleted`);
      assert.ok(!deleted.has(ids[1]!));
      assert.deepEqual((await listAll(store)).sort(), [ids[1]!, ids[3]!, ids[5]!].sort());
      assert.deepEqual(await store.deleteMany([]), new Set());
      await assert.rejects(store.deleteMany([ids[1]!, 'nope']), hasCode('INVALID_ID'));
      assert.equal(await store.has(ids[1]!), true, 'an invalid id deletes nothing');
    });

    it('says the bucket does not exist (IO_ERROR), for every kind of call', async function () {
      const store = new S3ChunkStore({ bucket: 'lxchunk-no-such-bucket', client: tb().client });
      const id = chunkId(Uint8Array.of(1));
      const missingBucket = (err: unknown): boolean => {
        assert.equal((err as { code?: unknown }).code, 'IO_ERROR');
        assert.match((err as Error).message, /bucket "lxchunk-no-such-bucket" does not exist/);
        return true;
      };
      await assert.rejects(store.has(id), missingBucket);
      await assert.rejects(store.get(id), missingBucket);
      await assert.rejects(store.put(id, Uint8Array.of(1)), missingBucket);
      await assert.rejects(listAll(store), missingBucket);
      await assert.rejects(S3ChunkStore.open({ bucket: 'lxchunk-no-such-bucket', client: tb().client }), missingBucket);
    });
  });

  it('fails with IO_ERROR, not a hang, when the endpoint is down', async function () {
    this.timeout(30_000);
    const down = await startMotoServer();
    await down.stop();
    const client = testS3Client(down.endpoint);
    try {
      const store = new S3ChunkStore({ bucket: 'lxchunk-down', client });
      const started = Date.now();
      await assert.rejects(store.has(chunkId(Uint8Array.of(1))), (err: unknown) => {
        assert.equal((err as { code?: unknown }).code, 'IO_ERROR');
        assert.match((err as Error).message, /S3 unreachable \(ECONNREFUSED\)/);
        assert.ok((err as Error).cause !== undefined);
        return true;
      });
      assert.ok(Date.now() - started < 20_000);
    } finally {
      client.destroy();
    }
  });
});

/** Damages an object as bit rot would: same key, encoding and metadata, last byte flipped (a byte added when empty). */
async function corruptObject(client: S3Client, bucket: string, key: string): Promise<void> {
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = (await object.Body?.transformToByteArray()) ?? new Uint8Array(0);
  const damaged = bytes.length === 0 ? Uint8Array.of(0) : bytes.slice();
  if (bytes.length > 0) damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0xff;
  await client.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: damaged, ContentEncoding: object.ContentEncoding, Metadata: object.Metadata }),
  );
}

const listAll = (store: ChunkStore): Promise<string[]> => collect(store.list());
const listQuarantined = async (store: ChunkStore): Promise<string[]> => (await collect(store.listQuarantined())).map(({ id }) => id);

// Array.fromAsync arrives with Node 22.
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}

function hasCode(code: string): (err: unknown) => boolean {
  return (err) => {
    assert.equal((err as { code?: unknown }).code, code, String(err));
    return true;
  };
}

/** Runs `fn` with environment variables set (undefined: unset), restoring them when it has settled. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((name) => [name, process.env[name]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(values)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}

// deepEqual on big arrays builds huge diffs, and a Buffer is not deepEqual to a Uint8Array.
function assertSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.equal(actual.length, expected.length, 'length differs');
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected), 'bytes differ');
}
