import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { decodeChunk, decodeManifest, manifestChunkIds } from '@lxchunk/format';
import { createTestBucket, startMotoServer, type MotoServer, type TestBucket } from '@lxchunk/store/testing';
import type { PullJson, PushJson } from './helpers/cli-json.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { serverMetric } from './helpers/server-metric.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/** One `chunk serve` with its chunks in an S3 bucket (moto_server) and its metadata in SQLite. */
describe('a server on an object store: CDN-friendly reads, --redirect-private (real server, moto_server)', function () {
  let work: string;
  let moto: MotoServer;
  let bucket: TestBucket;
  let image: LxdImageFiles;
  /** Two servers over one bucket, each with its own SQLite (no GC runs: each would collect the other's chunks). */
  let plain: Served;
  let redirecting: Served;

  interface Served {
    readonly server: ServerProcess;
    readonly readToken: string;
    readonly pushed: PushJson;
  }

  const get = (server: ServerProcess, path: string, token?: string) =>
    fetch(`${server.url}${path}`, { redirect: 'manual', headers: { 'accept-encoding': 'zstd', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
  const push = async (server: ServerProcess, files: LxdImageFiles, ...extra: string[]) => {
    const result = await runChunk(['push', '--json', '--no-content', ...extra, files.metadata, files.rootfs], { env: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') } });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PushJson;
  };
  const serve = async (extra: string[]): Promise<Served> => {
    const server = await startServer(['--no-fsync', '--chunks', `s3://${bucket.bucket}/store`, ...extra], undefined, { env: moto.env });
    return { server, readToken: await server.token('read'), pushed: await push(server, image) };
  };
  const pull = async ({ server, readToken }: Served, out: string, env: NodeJS.ProcessEnv = {}) => {
    const result = await runChunk(['pull', '--json', image.fingerprint, '--out', out], { env: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: readToken, ...env } });
    assert.equal(result.code, 0, result.stderr);
    assert.ok((await readFile(join(out, `${image.fingerprint}.rootfs`))).equals(await readFile(image.rootfs)), 'byte-exact');
    return JSON.parse(result.stdout) as PullJson;
  };
  /** The chunks of an image, as its manifest lists them. */
  const chunksOf = async (server: ServerProcess, fingerprint: string, token?: string) => {
    const answer = await fetch(`${server.url}/v1/images/${fingerprint}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return manifestChunkIds(decodeManifest(new Uint8Array(await answer.arrayBuffer())));
  };
  const firstChunk = async (server: ServerProcess, fingerprint: string, token?: string) => (await chunksOf(server, fingerprint, token))[0]!;

  before(async function () {
    this.timeout(300_000);
    work = await mkdtemp(join(tmpdir(), 'lxchunk-object-store-'));
    moto = await startMotoServer();
    bucket = await createTestBucket(moto.endpoint);
    image = await buildLxdImage(join(work, 'image'), { seed: 71, serial: '20261203', files: 100 });
    plain = await serve([]);
    redirecting = await serve(['--redirect-private', '--redirect-ttl', '2m']);
  });
  after(async function () {
    this.timeout(60_000);
    await redirecting?.server.destroy();
    await plain?.server.destroy();
    await bucket?.remove().catch(() => undefined);
    await moto?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('the chunks go into the bucket once: the second server over it uploads none', async () => {
    assert.equal(plain.pushed.fingerprint, image.fingerprint);
    assert.ok(plain.pushed.chunksUploaded > 0);
    assert.equal(redirecting.pushed.chunksUploaded, 0);
    const listed = await bucket.client.send(new ListObjectsV2Command({ Bucket: bucket.bucket, Prefix: 'store/' }));
    assert.ok((listed.KeyCount ?? 0) >= plain.pushed.chunksUploaded);
  });

  it('a private chunk is answered 307 with a presigned URL of the store, after the access check', async () => {
    const { server, readToken } = redirecting;
    const id = await firstChunk(server, image.fingerprint, readToken);
    assert.equal((await get(server, `/v1/chunks/${id}`)).status, 404, 'no URL, and no sign of the chunk, for a caller who may not read it');
    const answer = await get(server, `/v1/chunks/${id}`, readToken);
    assert.equal(answer.status, 307);
    assert.equal(answer.headers.get('cache-control'), 'private, no-store');
    const location = answer.headers.get('location')!;
    assert.ok(location.startsWith(moto.endpoint), location);
    assert.match(location, /X-Amz-Signature=/);
    // Fetched without our token, as the client does: the stored bytes, decoding to the chunk.
    const stored = await fetch(location);
    assert.equal(stored.status, 200);
    const encoding = (stored.headers.get('content-encoding') ?? 'identity') as 'zstd' | 'identity';
    assert.ok(decodeChunk(id, encoding, new Uint8Array(await stored.arrayBuffer())).length > 0);
  });

  it('a pull of a private image takes the chunk bytes from the store, none through the server, and is byte-exact', async () => {
    const { server } = redirecting;
    const servedBefore = await serverMetric(server, 'lxchunk_chunk_bytes_served_total');
    const redirectedBefore = await serverMetric(server, 'lxchunk_chunks_redirected_total');
    await pull(redirecting, join(work, 'pull-redirected'));
    assert.ok((await serverMetric(server, 'lxchunk_chunks_redirected_total')) > redirectedBefore, 'chunks went as redirects');
    assert.equal(await serverMetric(server, 'lxchunk_chunk_bytes_served_total'), servedBefore, 'no chunk bytes passed through the server');
  });

  it('a host that cannot reach the store gets the chunks through the server instead, and the pull is exact', async () => {
    const { server } = redirecting;
    const servedBefore = await serverMetric(server, 'lxchunk_chunk_bytes_served_total');
    // The server is reached directly; everything else goes to a proxy that is not there.
    const direct = new URL(server.url).host;
    await pull(redirecting, join(work, 'pull-unreachable'), { HTTP_PROXY: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', NO_PROXY: direct, no_proxy: direct });
    assert.ok((await serverMetric(server, 'lxchunk_chunk_bytes_served_total')) > servedBefore, 'the bytes came through the server');
  });

  it('public chunks may be kept by a shared cache (no Vary on Authorization); private ones never', async () => {
    const { server, readToken } = plain;
    const publicImage = await buildLxdImage(join(work, 'public'), { seed: 72, serial: '20261203', files: 100 });
    await push(server, publicImage, '--public');
    const pub = await get(server, `/v1/chunks/${await firstChunk(server, publicImage.fingerprint)}`);
    assert.equal(pub.status, 200);
    assert.equal(pub.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(pub.headers.get('vary'), 'Accept-Encoding', 'one copy for every caller');
    // A chunk only the private image has (a chunk any public image references is public).
    const publicChunks = new Set(await chunksOf(server, publicImage.fingerprint));
    const privateOnly = (await chunksOf(server, image.fingerprint, readToken)).find((id) => !publicChunks.has(id))!;
    const priv = await get(server, `/v1/chunks/${privateOnly}`, readToken);
    assert.equal(priv.status, 200, 'without --redirect-private the bytes come from the server');
    assert.equal(priv.headers.get('cache-control'), 'private, max-age=31536000, immutable');
    assert.equal(priv.headers.get('vary'), 'Accept-Encoding, Authorization');
  });

  it('--redirect-private without an object store is refused at startup', async () => {
    await assert.rejects(startServer(['--redirect-private']), /INVALID_INPUT/);
  });
});
