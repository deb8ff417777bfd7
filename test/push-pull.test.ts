import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkServerClient } from '@lxchunk/client';
import { chunkLikePush } from './helpers/chunk-like-push.js';
import type { PullJson, PushJson } from './helpers/cli-json.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { storedChunkPaths } from './helpers/stored-chunks.js';

describe('chunk push and chunk pull (real server, real squashfs images)', () => {
  let work: string;
  let server: ServerProcess;
  let v1: LxdImageFiles;
  let v2: LxdImageFiles;
  let pushEnv: NodeJS.ProcessEnv;
  let readEnv: NodeJS.ProcessEnv;

  const push = async (image: LxdImageFiles, ...extra: string[]) => {
    const result = await runChunk(['push', '--json', '--no-content', ...extra, image.metadata, image.rootfs], { env: pushEnv });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PushJson;
  };
  const pull = async (ref: string, out: string, ...extra: string[]) => {
    const result = await runChunk(['pull', '--json', ref, '--out', out, ...extra], { env: readEnv });
    return { ...result, json: result.code === 0 ? (JSON.parse(result.stdout) as PullJson) : undefined };
  };
  const sameBytes = async (a: string, b: string) => assert.ok((await readFile(a)).equals(await readFile(b)), `${a} differs from ${b}`);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-pushpull-'));
    server = await startServer(['--no-fsync']);
    pushEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    readEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('read') };
    v1 = await buildLxdImage(join(work, 'v1'), { seed: 7, serial: '20261127' });
    v2 = await buildLxdImage(join(work, 'v2'), { seed: 7, from: v1, serial: '20261128' });
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('push v1: computes the LXD fingerprint, uploads every chunk once, creates the alias', async () => {
    const result = await push(v1, '--alias', 'debian/bookworm');
    assert.equal(result.fingerprint, v1.fingerprint);
    assert.equal(result.bytesTotal, (await stat(v1.metadata)).size + (await stat(v1.rootfs)).size);
    assert.equal(result.chunksUploaded, result.chunksTotal);
    assert.ok(result.bytesUploaded >= result.bytesTotal * 0.9, 'incompressible squashfs data is uploaded nearly whole');
    assert.deepEqual(result.aliases.map((a) => [a.name, a.version, a.changed]), [['debian/bookworm', 1, true]]);
  });

  it('push v1 again: uploads nothing and succeeds', async () => {
    const result = await push(v1, '--alias', 'debian/bookworm');
    assert.equal(result.chunksUploaded, 0);
    assert.ok(result.bytesUploaded < result.bytesTotal / 20, `${result.bytesUploaded} bytes for a re-push`);
    assert.equal(result.aliases[0]!.changed, false);
  });

  it('push v2: uploads only the new chunks and moves the alias', async () => {
    const result = await push(v2, '--alias', 'debian/bookworm');
    assert.equal(result.fingerprint, v2.fingerprint);
    assert.ok(result.chunksUploaded > 0 && result.chunksUploaded < result.chunksTotal / 2, `${result.chunksUploaded} of ${result.chunksTotal}`);
    assert.ok(result.bytesUploaded < result.bytesTotal / 2);
    assert.deepEqual(result.aliases.map((a) => [a.version, a.changed]), [[2, true]]);
  });

  it('pull v2 by alias with v1 as seed: fetches only the missing chunks, files byte-identical, fingerprint matches', async () => {
    const out = join(work, 'pull-seeded');
    const result = await pull('debian/bookworm', out, '--seed', v1.rootfs, '--seed', v1.metadata, '--prefer', 'time');
    assert.equal(result.code, 0, result.stderr);
    const json = result.json!;
    assert.equal(json.fingerprint, v2.fingerprint);
    await sameBytes(join(out, v2.fingerprint), v2.metadata);
    await sameBytes(join(out, `${v2.fingerprint}.rootfs`), v2.rootfs);
    assert.ok(json.bytesFetched < json.bytesTotal / 2, `fetched ${json.bytesFetched} of ${json.bytesTotal}`);
    assert.ok(json.bytesReused > json.bytesTotal / 2);
    assert.deepEqual(await readdir(out), [v2.fingerprint, `${v2.fingerprint}.rootfs`].sort(), 'no staging or partial files remain');

    // estimate predicts the same cost offline, within the manifest's small differences.
    const estimate = await runChunk(['estimate', '--json', '--seed', v1.rootfs, v2.rootfs]);
    assert.equal(estimate.code, 0, estimate.stderr);
    const predicted = JSON.parse(estimate.stdout) as { bytesFetched: number; indexBytes: number };
    // Chunk bytes only: the estimate models the manifest as a host with the seed's manifest gets it,
    // while this pull had none.
    const fetchedChunks = json.bytesFetched - json.manifestBytes;
    const predictedChunks = predicted.bytesFetched - predicted.indexBytes;
    assert.ok(Math.abs(predictedChunks - fetchedChunks) < fetchedChunks * 0.25 + 20_000, `estimate ${predictedChunks} vs pull ${fetchedChunks} chunk bytes`);
  });

  it('pull without seeds fetches the whole image; with a cache, the next pull fetches only the manifest', async () => {
    const cache = join(work, 'cache');
    const first = await pull(v1.fingerprint, join(work, 'pull-cold'), '--cache', cache);
    assert.equal(first.code, 0, first.stderr);
    assert.ok(first.json!.bytesFetched >= first.json!.bytesTotal * 0.9);
    assert.equal(first.json!.chunksFetched, first.json!.chunksTotal);
    await sameBytes(join(work, 'pull-cold', `${v1.fingerprint}.rootfs`), v1.rootfs);
    assert.equal(first.json!.manifestBase, undefined, 'nothing cached yet to compress against');
    const again = await pull(v1.fingerprint, join(work, 'pull-warm'), '--cache', cache);
    assert.equal(again.json!.chunksFetched, 0);
    assert.equal(again.json!.manifestBase, v1.fingerprint);
    assert.ok(again.json!.bytesFetched < 2_000, `only the manifest, compressed against itself: ${again.json!.bytesFetched}`);
    // The next image's manifest comes compressed against v1's: it costs about what changed.
    // Same chunks in the cache, no manifest to offer: the difference is the manifest alone.
    const chunksOnly = join(work, 'cache-chunks-only');
    await cp(join(cache, 'chunks'), join(chunksOnly, 'chunks'), { recursive: true });
    const plain = await pull(v2.fingerprint, join(work, 'pull-plain'), '--cache', chunksOnly);
    assert.equal(plain.json!.manifestBase, undefined);
    const next = await pull(v2.fingerprint, join(work, 'pull-next'), '--cache', cache);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.json!.manifestBase, v1.fingerprint);
    await sameBytes(join(work, 'pull-next', `${v2.fingerprint}.rootfs`), v2.rootfs);
    assert.equal(next.json!.chunksFetched, plain.json!.chunksFetched);
    assert.ok(next.json!.bytesFetched < plain.json!.bytesFetched - 1000, `${next.json!.bytesFetched} bytes with the base vs ${plain.json!.bytesFetched} without`);
  });

  it('an interrupted pull, run again, fetches only what it had not fetched', async () => {
    // Interrupt the pull by making one chunk unavailable: everything else gets fetched and staged.
    const chunks = await storedChunkPaths(server.dataDir);
    const v2Only = (await chunkLikePush(v2.rootfs)).chunks.map((c) => c.id).filter((id) => chunks.has(id));
    const victim = v2Only[Math.floor(v2Only.length / 2)]!;
    const saved = await readFile(chunks.get(victim)!);
    await rm(chunks.get(victim)!);
    const out = join(work, 'pull-resume');
    const failed = await pull(v2.fingerprint, out);
    assert.equal(failed.code, 3, failed.stderr);
    assert.match(failed.stderr, /CHUNK_NOT_FOUND/);
    assert.ok(!(await readdir(out)).some((name) => !name.startsWith('.lxchunk-pull-')), 'no file under a final name');
    await writeFile(chunks.get(victim)!, saved);
    const resumed = await pull(v2.fingerprint, out);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.json!.chunksFetched, 1);
    assert.ok(resumed.json!.bytesFetched < resumed.json!.bytesTotal / 10);
    await sameBytes(join(out, `${v2.fingerprint}.rootfs`), v2.rootfs);
  });

  it('a corrupted chunk on the server is detected and never lands in the output', async () => {
    const chunks = await storedChunkPaths(server.dataDir);
    const id = (await chunkLikePush(v1.rootfs)).chunks[5]!.id;
    const path = chunks.get(id)!;
    const good = await readFile(path);
    const bad = Buffer.from(good);
    bad[100] = bad[100]! ^ 0x55;
    await writeFile(path, bad);
    try {
      const out = join(work, 'pull-corrupt-server');
      const result = await pull(v1.fingerprint, out);
      assert.notEqual(result.code, 0);
      assert.ok(!(await readdir(out)).some((name) => name.startsWith(v1.fingerprint)), 'no output file');
    } finally {
      await writeFile(path, good);
    }
  });

  it('a corrupted chunk in the local cache is detected, fetched again, and the output is still exact', async () => {
    const cache = join(work, 'cache');
    const files = await storedChunkPaths(cache);
    const id = (await chunkLikePush(v2.rootfs)).chunks.find((c) => files.has(c.id))!.id;
    const damaged = Buffer.from(await readFile(files.get(id)!));
    damaged[0] = damaged[0]! ^ 0xff;
    await writeFile(files.get(id)!, damaged);
    const out = join(work, 'pull-corrupt-cache');
    const result = await pull(v2.fingerprint, out, '--cache', cache);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.json!.corruptLocalChunks >= 1);
    await sameBytes(join(out, `${v2.fingerprint}.rootfs`), v2.rootfs);
  });

  it('an interrupted push, run again, uploads only what is still missing', async () => {
    const v3 = await buildLxdImage(join(work, 'v3'), { seed: 7, from: v2, serial: '20261129', change: 40 });
    const ids = [...new Set([...(await chunkLikePush(v3.metadata)).chunks, ...(await chunkLikePush(v3.rootfs)).chunks].map((c) => c.id))];
    const client = new ChunkServerClient({ url: server.url, token: pushEnv.LXCHUNK_TOKEN! });
    const missing = await client.missingChunks(ids);
    assert.ok(missing.length > 4);
    // What a push killed halfway leaves behind: some of its chunks uploaded, no manifest.
    const bytesOf = new Map<string, Uint8Array>();
    for (const file of [v3.metadata, v3.rootfs]) {
      const data = await readFile(file);
      await chunkLikePush(file, { onChunk: ({ id, offset, bytes }) => bytesOf.set(id, data.subarray(offset, offset + bytes.length)) });
    }
    const half = missing.slice(0, Math.floor(missing.length / 2));
    for (const id of half) await client.putChunk(id, bytesOf.get(id)!);
    await client.close();
    const result = await push(v3, '--alias', 'debian/bookworm');
    assert.equal(result.chunksUploaded, missing.length - half.length);
    assert.equal(result.aliases[0]!.version, 3);
  });

  describe('clear errors', () => {
    it('an unreachable server: exit 6, UNAVAILABLE, once --retry-for is over', async () => {
      const args = ['pull', '--json', 'x', '--out', join(work, 'nowhere'), '--server', 'http://127.0.0.1:9', '--retry-for', '1s'];
      const result = await runChunk(args, { env: { LXCHUNK_TOKEN: '' } });
      assert.equal(result.code, 6, result.stderr);
      assert.equal(JSON.parse(result.stdout).error.code, 'UNAVAILABLE');
    });

    it('a wrong token: exit 7, UNAUTHORIZED', async () => {
      const result = await runChunk(['push', '--json', '--no-content', v1.metadata, v1.rootfs], { env: { ...pushEnv, LXCHUNK_TOKEN: 'lxc_wrong' } });
      assert.equal(result.code, 7, result.stderr);
      assert.equal(JSON.parse(result.stdout).error.code, 'UNAUTHORIZED');
    });

    it('an unknown alias: exit 3, ALIAS_NOT_FOUND', async () => {
      const result = await pull('debian/nope', join(work, 'nope'));
      assert.equal(result.code, 3);
      assert.match(result.stderr, /ALIAS_NOT_FOUND/);
    });

    it('a metadata tarball without metadata.yaml: exit 2', async () => {
      const result = await runChunk(['push', '--json', '--no-content', v1.rootfs, v1.rootfs], { env: pushEnv });
      assert.equal(result.code, 2, result.stderr);
    });

    it('a missing seed: exit 3', async () => {
      const result = await pull(v1.fingerprint, join(work, 'seedless'), '--seed', join(work, 'no-such-seed'));
      assert.equal(result.code, 3);
    });
  });
});
