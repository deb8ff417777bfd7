import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { DEFAULT_PARAMS, chunkId } from '@lxchunk/chunker';
import { ChunkServerClient } from '@lxchunk/client';
import { isLxchunkError, type LxchunkError } from '@lxchunk/errors';
import { ChunkBatchDecoder, FrameStatus, encodeManifest, type ChunkIndex, type ImageManifest } from '@lxchunk/format';
import { seeded } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/** Deterministic bytes: incompressible, but the same on every run (the seed spread over 32 bits). */
function noise(length: number, seed: number): Uint8Array {
  return seeded(length, (seed * 2654435761) >>> 0);
}

/** Text that zstd shrinks a lot. */
function text(length: number, seed: number): Uint8Array {
  const line = `lxchunk test line ${seed}: the quick brown fox jumps over the lazy dog\n`;
  return new TextEncoder().encode(line.repeat(Math.ceil(length / line.length)).slice(0, length));
}

interface TestFile {
  readonly bytes: Uint8Array;
  readonly chunks: readonly Uint8Array[];
  readonly index: ChunkIndex;
}

function makeFile(chunks: Uint8Array[]): TestFile {
  const bytes = Buffer.concat(chunks);
  const index: ChunkIndex = {
    size: bytes.length,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    params: DEFAULT_PARAMS,
    method: 'cdc',
    chunks: chunks.map((c) => ({ id: chunkId(c), length: c.length })),
  };
  return { bytes, chunks, index };
}

interface TestImage {
  readonly manifest: ImageManifest;
  readonly bytes: Uint8Array;
  readonly chunks: Map<string, Uint8Array>;
}

function makeImage(metadata: TestFile, rootfs: TestFile, extra: Partial<ImageManifest> = {}): TestImage {
  const fingerprint = createHash('sha256').update(metadata.bytes).update(rootfs.bytes).digest('hex');
  const manifest: ImageManifest = {
    fingerprint,
    type: 'container',
    architecture: 'x86_64',
    created: '2026-01-02T03:04:05Z',
    public: false,
    properties: { os: 'debian', release: '12' },
    files: [
      { role: 'metadata', index: metadata.index },
      { role: 'rootfs', index: rootfs.index },
    ],
    ...extra,
  };
  const chunks = new Map<string, Uint8Array>();
  for (const c of [...metadata.chunks, ...rootfs.chunks]) chunks.set(chunkId(c), c);
  return { manifest, bytes: encodeManifest(manifest), chunks };
}

/** ~300 chunks: tiny, small, maximal and random sizes; every third one compressible text. */
function rootfsChunks(seed: number, count: number): Uint8Array[] {
  const sizes = [1, 17, 4096, 65_536, DEFAULT_PARAMS.max];
  return Array.from({ length: count }, (_, i) => {
    const size = i < sizes.length ? sizes[i]! : 1 + ((i * 7919 + seed * 104_729) % 90_000);
    return i % 3 === 0 ? text(size, seed * 1000 + i) : noise(size, seed * 1000 + i);
  });
}

function isCode(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(isLxchunkError(err), `expected an LxchunkError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The same fetch request as the client's, by hand: the exact response body on the wire. */
function rawFetch(url: string, token: string, ids: readonly string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify({ ids }));
    const req = httpRequest(
      `${url}/v1/chunks/fetch`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'accept-encoding': 'zstd',
          'content-length': body.length,
        },
      },
      (res) => {
        const pieces: Buffer[] = [];
        res.on('data', (p: Buffer) => pieces.push(p));
        res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(pieces)) : reject(new Error(`HTTP ${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function uploadAll(client: ChunkServerClient, chunks: Map<string, Uint8Array>): Promise<void> {
  const entries = [...chunks];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < entries.length) {
        const [id, bytes] = entries[next++]!;
        await client.putChunk(id, bytes);
      }
    }),
  );
}

describe('@lxchunk/client against a real `chunk serve` process', function () {
  this.timeout(60_000);

  let server: ServerProcess;
  let tokens: { push: string; read: string; admin: string };
  let push: ChunkServerClient;
  let read: ChunkServerClient;
  let admin: ChunkServerClient;
  let anonymous: ChunkServerClient;
  const others: ChunkServerClient[] = [];

  const metadata = makeFile([text(3000, 1)]);
  const rootfsA = makeFile(rootfsChunks(1, 300));
  // B: the same rootfs with a few chunks replaced, as a rebuilt image would be.
  const rootfsB = makeFile(rootfsA.chunks.map((c, i) => (i % 50 === 7 ? noise(c.length, 9000 + i) : c)));
  const imageA = makeImage(metadata, rootfsA);
  const imageB = makeImage(metadata, rootfsB, { created: '2026-01-03T00:00:00Z', properties: { os: 'debian', release: '12', serial: 'b' } });
  const unknownIds = [chunkId(noise(10, 77)), chunkId(noise(11, 78)), chunkId(noise(12, 79))];
  const alias = 'ci/debian/12';

  function client(options: Partial<ConstructorParameters<typeof ChunkServerClient>[0]> = {}): ChunkServerClient {
    const c = new ChunkServerClient({ url: server.url, ...options });
    others.push(c);
    return c;
  }

  before(async () => {
    // debug: the log says when a long-poll has arrived.
    server = await startServer(['--log-level', 'debug']);
    const [pushToken, readToken, adminToken] = await Promise.all([server.token('push'), server.token('read'), server.token('admin')]);
    tokens = { push: pushToken, read: readToken, admin: adminToken };
    push = client({ token: tokens.push });
    read = client({ token: tokens.read });
    admin = client({ token: tokens.admin });
    anonymous = client();
  });

  after(async () => {
    await Promise.all(others.map((c) => c.close()));
    await server?.destroy();
  });

  it('health() is true for a running server', async () => {
    assert.equal(await anonymous.health(), true);
  });

  it('missingChunks lists what the server lacks, deduplicated, in request order', async () => {
    const ids = [...imageA.chunks.keys()];
    assert.deepEqual(await push.missingChunks([...ids, ids[3]!, ids[0]!]), ids);
    const half = ids.filter((_, i) => i % 2 === 0);
    for (const id of half) await push.putChunk(id, imageA.chunks.get(id)!);
    assert.deepEqual(await push.missingChunks(ids), ids.filter((_, i) => i % 2 === 1));
    await assert.rejects(read.missingChunks(ids), isCode('FORBIDDEN'));
  });

  it('putChunk: 201 then 200, HASH_MISMATCH for wrong bytes, FORBIDDEN without the push scope', async () => {
    const bytes = text(5000, 4242);
    const id = chunkId(bytes);
    assert.deepEqual(await push.putChunk(id, bytes), { stored: true });
    assert.deepEqual(await push.putChunk(id, bytes), { stored: false });
    await assert.rejects(push.putChunk(id, text(5000, 4243)), isCode('HASH_MISMATCH'));
    await assert.rejects(read.putChunk(id, bytes), isCode('FORBIDDEN'));
    assert.ok(push.bytesSent > 0);
  });

  it('uploads both images and stores their manifests (created, then exists)', async () => {
    await uploadAll(push, imageA.chunks);
    await uploadAll(push, imageB.chunks);
    assert.deepEqual(await push.missingChunks([...imageA.chunks.keys(), ...imageB.chunks.keys()]), []);
    assert.equal(await push.putManifest(imageA.manifest.fingerprint, imageA.bytes), 'created');
    assert.equal(await push.putManifest(imageA.manifest.fingerprint, imageA.bytes), 'exists');
    assert.equal(await push.putManifest(imageB.manifest.fingerprint, imageB.bytes), 'created');
  });

  it('refuses a manifest with absent chunks (CHUNKS_MISSING) or another manifest under a taken fingerprint (CONFLICT)', async () => {
    const absent = noise(2000, 31337);
    const imageC = makeImage(metadata, makeFile([...rootfsA.chunks.slice(0, 3), absent]));
    await assert.rejects(push.putManifest(imageC.manifest.fingerprint, imageC.bytes), (err: unknown) => {
      isCode('CHUNKS_MISSING')(err);
      assert.deepEqual((err as LxchunkError).details?.missing, [chunkId(absent)]);
      assert.equal((err as LxchunkError).details?.count, 1);
      return true;
    });
    const other = encodeManifest({ ...imageA.manifest, architecture: 'aarch64' });
    await assert.rejects(push.putManifest(imageA.manifest.fingerprint, other), isCode('CONFLICT'));
    await assert.rejects(push.putManifest(imageB.manifest.fingerprint, imageA.bytes), isCode('INVALID_INPUT'));
  });

  it('getManifest returns the stored bytes, decoded; private images are invisible to anonymous callers', async () => {
    const { manifest, bytes } = await read.getManifest(imageA.manifest.fingerprint);
    assert.ok(Buffer.from(bytes).equals(imageA.bytes));
    assert.equal(manifest.fingerprint, imageA.manifest.fingerprint);
    assert.deepEqual(manifest.files[1]!.index.chunks, rootfsA.index.chunks);
    await assert.rejects(anonymous.getManifest(imageA.manifest.fingerprint), isCode('IMAGE_NOT_FOUND'));
    await assert.rejects(read.getManifest('f'.repeat(64)), isCode('IMAGE_NOT_FOUND'));
  });

  it('getChunk round-trips identity and zstd-stored chunks; unreadable ones are CHUNK_NOT_FOUND', async () => {
    const ids = [...imageA.chunks.keys()].slice(0, 12);
    for (const id of ids) assert.ok(Buffer.from(await read.getChunk(id)).equals(imageA.chunks.get(id)!), id);
    const compressible = rootfsA.chunks[3]!; // 64 KiB of text, stored as zstd
    const before = read.bytesReceived;
    assert.ok(Buffer.from(await read.getChunk(chunkId(compressible))).equals(compressible));
    assert.ok(read.bytesReceived - before < compressible.length / 4, 'a compressible chunk travels as zstd');
    await assert.rejects(anonymous.getChunk(ids[0]!), isCode('CHUNK_NOT_FOUND'));
    await assert.rejects(read.getChunk(unknownIds[0]!), isCode('CHUNK_NOT_FOUND'));
    // Uploaded but referenced by no image: no reader may see it.
    await assert.rejects(read.getChunk(chunkId(text(5000, 4242))), isCode('CHUNK_NOT_FOUND'));
  });

  it('fetchChunks streams ~300 verified chunks (zstd frames included), lists the missing, and counts every wire byte', async () => {
    const ids = [...imageA.chunks.keys()];
    const asked = [unknownIds[0]!, ...ids.slice(0, 150), unknownIds[1]!, ...ids.slice(150), unknownIds[2]!];
    const fetcher = client({ token: tokens.read });
    const got = new Map<string, Uint8Array>();
    const result = await fetcher.fetchChunks([...asked, ...ids.slice(0, 20)], async (id, bytes) => {
      assert.ok(!got.has(id), `delivered twice: ${id}`);
      got.set(id, bytes);
      if (got.size % 50 === 0) await new Promise((r) => setTimeout(r, 1)); // a slow consumer
    });
    assert.deepEqual(result.missing, unknownIds);
    assert.equal(got.size, ids.length);
    for (const [id, bytes] of got) assert.ok(Buffer.from(bytes).equals(imageA.chunks.get(id)!), id);

    // The client's count is exactly the response body as it crossed the wire.
    const raw = await rawFetch(server.url, tokens.read, asked);
    assert.equal(fetcher.bytesReceived, raw.length);
    let payload = 0;
    let zstdFrames = 0;
    const decoder = new ChunkBatchDecoder();
    decoder.push(raw, (frame) => {
      payload += frame.payload.length;
      if (frame.status === FrameStatus.zstd) zstdFrames++;
    });
    decoder.finish();
    assert.ok(zstdFrames >= 90, `zstd frames: ${zstdFrames}`);
    assert.ok(fetcher.bytesReceived > payload, 'framing counts too');
    assert.ok(fetcher.bytesReceived < rootfsA.bytes.length + metadata.bytes.length, 'compressible chunks travel compressed');
  });

  it('fetchChunks splits past 4096 ids into concurrent batches and keeps the missing in input order', async () => {
    const fetcher = client({ token: tokens.read, concurrency: 3 });
    const fake = Array.from({ length: 9000 }, (_, i) => createHash('sha256').update(`absent ${i}`).digest('hex'));
    const real = [...imageB.chunks.keys()];
    const asked = fake.flatMap((id, i) => (i < real.length ? [id, real[i]!] : [id]));
    let delivered = 0;
    const result = await fetcher.fetchChunks(asked, () => void delivered++);
    assert.equal(delivered, real.length);
    assert.deepEqual(result.missing, fake);
  });

  it('lists images with filters', async () => {
    const all = await read.listImages();
    assert.deepEqual(all.map((i) => i.fingerprint).sort(), [imageA.manifest.fingerprint, imageB.manifest.fingerprint].sort());
    const b = await read.listImages({ properties: { serial: 'b' } });
    assert.deepEqual(b.map((i) => i.fingerprint), [imageB.manifest.fingerprint]);
    assert.equal(b[0]!.size, metadata.bytes.length + rootfsB.bytes.length);
    assert.equal(b[0]!.public, false);
    assert.deepEqual(await read.listImages({ architecture: 'aarch64' }), []);
    assert.deepEqual(await anonymous.listImages(), []);
  });

  it('aliases: create, move by compare-and-swap, lose a race (412 with details.current), history, delete', async () => {
    const a = imageA.manifest.fingerprint;
    const b = imageB.manifest.fingerprint;
    assert.equal(await read.getAlias(alias), undefined);
    await assert.rejects(push.setAlias(alias, 'e'.repeat(64), { absent: true }), isCode('IMAGE_NOT_FOUND'));

    const created = await push.setAlias(alias, a, { absent: true }, 'nightly');
    assert.equal(created.name, alias);
    assert.equal(created.target, a);
    assert.equal(created.version, 1);
    assert.deepEqual(await read.getAlias(alias), created);
    await assert.rejects(push.setAlias(alias, b, { absent: true }), (err: unknown) => {
      isCode('PRECONDITION_FAILED')(err);
      assert.deepEqual((err as LxchunkError).details?.current, { target: a, version: 1 });
      return true;
    });

    const moved = await push.setAlias(alias, b, { version: 1 });
    assert.equal(moved.version, 2);
    // A second writer that also read version 1 loses the race.
    await assert.rejects(push.setAlias(alias, a, { version: 1 }), (err: unknown) => {
      isCode('PRECONDITION_FAILED')(err);
      assert.deepEqual((err as LxchunkError).details?.current, { target: b, version: 2 });
      return true;
    });
    // Setting the target it already has changes nothing.
    assert.equal((await push.setAlias(alias, b, { version: 2 })).version, 2);
    await assert.rejects(read.setAlias(alias, a, { version: 2 }), isCode('FORBIDDEN'));

    assert.deepEqual(
      (await read.aliasHistory(alias)).map((h) => [h.target, h.version]),
      [
        [b, 2],
        [a, 1],
      ],
    );
    assert.deepEqual((await read.listAliases()).map((x) => [x.name, x.target, x.version]), [[alias, b, 2]]);
    assert.deepEqual((await read.listImages({ alias })).map((i) => i.fingerprint), [b]);

    await push.setAlias('tmp/x', a, { absent: true });
    await assert.rejects(push.deleteAlias('tmp/x', 5), isCode('PRECONDITION_FAILED'));
    await push.deleteAlias('tmp/x', 1);
    assert.equal(await read.getAlias('tmp/x'), undefined);
  });

  it('an unknown alias is undefined, not an error', async () => {
    assert.equal(await read.getAlias('no/such/alias'), undefined);
    assert.equal(await anonymous.getAlias(alias), undefined, 'its target is private');
  });

  it('a wrong token is UNAUTHORIZED, never anonymous', async () => {
    const wrong = client({ token: `lxc_${'A'.repeat(43)}` });
    await assert.rejects(wrong.listImages(), isCode('UNAUTHORIZED'));
    await assert.rejects(wrong.getChunk(unknownIds[0]!), isCode('UNAUTHORIZED'));
  });

  it('an unreachable server is UNAVAILABLE after the retries, naming the URL', async () => {
    const port = await closedPort();
    const gone = new ChunkServerClient({ url: `http://127.0.0.1:${port}`, retries: 1, retryBaseMs: 10 });
    others.push(gone);
    await assert.rejects(gone.missingChunks(unknownIds), (err: unknown) => {
      isCode('UNAVAILABLE')(err);
      assert.match((err as Error).message, new RegExp(`127\\.0\\.0\\.1:${port}/v1/chunks/missing`));
      assert.match((err as Error).message, /2 attempts/);
      assert.ok((err as Error).cause);
      return true;
    });
    assert.equal(await gone.health(), false);
  });

  it('changes(): a long-poll wakes up when an alias moves', async () => {
    const { seq, changes } = await read.changes(undefined, 0);
    assert.deepEqual(changes, []);
    const arrived = (server.stderr().match(/"path":"\/v1\/changes","msg":"request received"/g) ?? []).length;
    let answered = false;
    const polling = read.changes(seq, 120).finally(() => (answered = true));
    // The alias moves only once the server holds the poll, which must still be waiting then.
    await server.waitForStderr(new RegExp(`("path":"\\/v1\\/changes","msg":"request received"[\\s\\S]*){${arrived + 1}}`));
    assert.equal(answered, false, 'the poll waits while nothing changes');
    const moved = await push.setAlias(alias, imageA.manifest.fingerprint, { version: 2 });
    const result = await polling;
    assert.ok(result.seq > seq);
    assert.deepEqual(
      result.changes.map((c) => [c.alias, c.target, c.version]),
      [[alias, imageA.manifest.fingerprint, moved.version]],
    );
    // Nothing newer: a zero wait answers at once with no changes.
    assert.deepEqual((await read.changes(result.seq, 0)).changes, []);
  });

  it('deleteImage (admin) refuses an aliased image; gc runs as admin', async () => {
    const b = imageB.manifest.fingerprint;
    const a = imageA.manifest.fingerprint; // the alias targets A again now
    await assert.rejects(admin.deleteImage(a), isCode('IMAGE_IN_USE'));
    await assert.rejects(push.deleteImage(b), isCode('FORBIDDEN'));
    await admin.deleteImage(b);
    await assert.rejects(read.getManifest(b), isCode('IMAGE_NOT_FOUND'));
    const report = await admin.gc({ dryRun: true });
    assert.equal(report.dryRun, true);
    await assert.rejects(push.gc(), isCode('FORBIDDEN'));
  });
});
