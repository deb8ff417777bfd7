import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chunkId } from '@lxchunk/chunker';
import { BATCH_CONTENT_TYPE, FrameStatus, encodeBatchEnd, encodeBatchStart, encodeFrameHeader } from '@lxchunk/format';
import { FsChunkStore } from '@lxchunk/store';
import { http } from './helpers/http.js';
import { makeImage, seeded } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { mountSmallDisk, type SmallDisk } from './helpers/small-disk.js';
import { storedChunkPaths } from './helpers/stored-chunks.js';

function uploadBatch(chunks: readonly Uint8Array[]): Buffer {
  const parts: Uint8Array[] = [encodeBatchStart()];
  for (const bytes of chunks) parts.push(encodeFrameHeader(chunkId(bytes), FrameStatus.identity, bytes.length), bytes);
  parts.push(encodeBatchEnd());
  return Buffer.concat(parts);
}

function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `metric ${name} is exported`);
  return Number(line.split(' ')[1]);
}

describe('server: a full disk (real server process on a 2 MiB tmpfs)', () => {
  let disk: SmallDisk | undefined;
  let server: ServerProcess;
  let push: string;

  before(async function () {
    disk = await mountSmallDisk(2 * 1024 * 1024);
    if (!disk) this.skip(); // mounting a tmpfs needs root
    server = await startServer(['--gc-interval', '0'], join(disk.dir, 'data'));
    push = await server.token('push');
  });
  after(async () => {
    await server?.destroy();
    await disk?.unmount();
  });

  it('answers 507 STORAGE_FULL, says so in /healthz and /metrics, keeps stored chunks intact, and recovers once space is freed', async () => {
    // Big properties: the commit needs more room in SQLite's WAL than earlier writes left in it.
    const properties = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`p${i}`, Buffer.from(seeded(1500, i + 1)).toString('base64')]));
    const image = await makeImage({ seed: 31, rootfsBytes: 60_000, properties });
    for (const [id, bytes] of image.chunks) {
      assert.equal((await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: push, body: bytes })).status, 201);
    }
    const filler = disk!.fill('filler');

    const lone = seeded(100_000, 32);
    const batch = [seeded(50_000, 33), seeded(50_000, 34)];
    const attempts = {
      put: () => http(server.url, 'PUT', `/v1/chunks/${chunkId(lone)}`, { token: push, body: lone }),
      upload: () => http(server.url, 'POST', '/v1/chunks/upload', { token: push, body: uploadBatch(batch), headers: { 'content-type': BATCH_CONTENT_TYPE } }),
      manifest: () => http(server.url, 'PUT', `/v1/images/${image.fingerprint}`, { token: push, body: image.manifestBytes }),
    };
    for (const [what, attempt] of Object.entries(attempts)) {
      const result = await attempt();
      assert.equal(result.status, 507, `${what}: ${result.status} ${result.body}`);
      assert.equal(result.json.error.code, 'STORAGE_FULL', what);
      assert.doesNotMatch(result.json.error.message, new RegExp(disk!.dir), 'no server paths in the answer');
    }

    const health = await http(server.url, 'GET', '/healthz');
    assert.equal(health.status, 503);
    assert.equal(health.json.ok, false);
    assert.equal(health.json.degraded, true);
    assert.match(health.json.reason, /no space left/);
    const metrics = (await http(server.url, 'GET', '/metrics')).body.toString();
    assert.equal(metric(metrics, 'lxchunk_storage_full'), 1);
    assert.equal(metric(metrics, 'lxchunk_storage_full_errors_total'), 3);
    assert.equal(server.stderr().match(/"msg":"storage full/g)?.length, 1, 'logged once, not per request');

    // Nothing half-written: no temp file left, none of the refused chunks stored, the rest verify.
    assert.deepEqual(await readdir(join(server.dataDir, 'tmp')), []);
    const stored = await storedChunkPaths(server.dataDir);
    for (const bytes of [lone, ...batch]) assert.ok(!stored.has(chunkId(bytes)));
    assert.deepEqual([...stored.keys()].sort(), [...image.chunks.keys()].sort());
    const store = await FsChunkStore.open({ dir: server.dataDir });
    for (const [id, bytes] of image.chunks) assert.ok(Buffer.from(await store.get(id)).equals(bytes), `chunk ${id} verifies`);

    await rm(filler);
    assert.equal((await attempts.put()).status, 201);
    assert.deepEqual((await attempts.upload()).json, { chunks: 2, stored: 2 });
    assert.equal((await attempts.manifest()).status, 201);
    assert.deepEqual((await http(server.url, 'GET', '/healthz')).json, { ok: true });
    assert.equal(metric((await http(server.url, 'GET', '/metrics')).body.toString(), 'lxchunk_storage_full'), 0);
    assert.match(server.stderr(), /"msg":"storage writable again"/);
  });
});
