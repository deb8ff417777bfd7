import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from './helpers/http.js';
import { makeImage, seeded } from './helpers/image-fixture.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer } from './helpers/server-process.js';
import { notPrivate } from './helpers/file-modes.js';
import { chunkId } from '@lxchunk/chunker';

describe('server: lifecycle, auth and garbage collection (real server process)', () => {
  it('creates its data dir, refuses a second server on it, and drains on SIGTERM', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'lxchunk-life-'));
    const dir = join(parent, 'fresh', 'data');
    // debug: the log says when the long-poll below has arrived.
    const server = await startServer(['--no-fsync', '--log-level', 'debug'], dir);
    try {
      assert.deepEqual((await http(server.url, 'GET', '/healthz')).json, { ok: true });
      const second = await runChunk(['serve', '--data', dir, '--listen', '127.0.0.1:0', '--json']);
      assert.equal(second.code, 8);
      assert.equal(JSON.parse(second.stdout).error.code, 'DATA_DIR_LOCKED');
      const offlineGc = await runChunk(['gc', '--data', dir, '--json']);
      assert.equal(JSON.parse(offlineGc.stdout).error.code, 'DATA_DIR_LOCKED');

      // A long-poll in flight is answered, not cut, when the server drains.
      const seq = (await http(server.url, 'GET', '/v1/changes')).json.seq;
      // The longest wait there is: a drain that waited it out would run past the test's timeout.
      const polling = http(server.url, 'GET', `/v1/changes?since=${seq}&wait=300`);
      await server.waitForStderr(/("path":"\/v1\/changes","msg":"request received"[\s\S]*){2}/);
      const code = await server.stop();
      assert.equal(code, 0);
      const answer = await polling;
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.json.changes, [], 'answered at once by the drain, with nothing new');
      // The lock is released: the directory can be served again.
      const again = await startServer(['--no-fsync'], dir);
      await again.stop();
    } finally {
      await server.stop();
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('restarts at once on its data dir after kill -9: the kernel drops a dead server\'s lock', async () => {
    const server = await startServer(['--no-fsync']);
    try {
      server.child.kill('SIGKILL');
      assert.equal(await server.stop(), null, 'killed, no exit code');
      const again = await startServer(['--no-fsync'], server.dataDir);
      assert.deepEqual((await http(again.url, 'GET', '/healthz')).json, { ok: true });
      // The restarted server holds the lock in turn.
      const second = await runChunk(['serve', '--data', server.dataDir, '--listen', '127.0.0.1:0', '--json']);
      assert.equal(JSON.parse(second.stdout).error.code, 'DATA_DIR_LOCKED');
      assert.equal(await again.stop(), 0);
    } finally {
      await server.destroy();
    }
  });

  it('keeps its data dir private: directories 0700, files 0600, under the usual umask', async () => {
    const umask = process.umask(0o022); // inherited by the server process
    const parent = await mkdtemp(join(tmpdir(), 'lxchunk-modes-'));
    const server = await startServer(['--no-fsync'], join(parent, 'data'));
    try {
      const push = await server.token('push');
      const image = await makeImage({ seed: 46 });
      for (const [id, bytes] of image.chunks) await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: push, body: bytes });
      assert.equal((await http(server.url, 'PUT', `/v1/images/${image.fingerprint}`, { token: push, body: image.manifestBytes })).status, 201);
      assert.deepEqual(await notPrivate(server.dataDir), []);
    } finally {
      process.umask(umask);
      await server.destroy();
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('exposes Prometheus metrics', async () => {
    const server = await startServer(['--no-fsync']);
    try {
      await http(server.url, 'GET', `/v1/chunks/${'a'.repeat(64)}`);
      const metrics = await http(server.url, 'GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type')!, /text\/plain/);
      const text = metrics.body.toString('utf8');
      assert.match(text, /^# TYPE lxchunk_http_requests_total counter$/m);
      assert.match(text, /lxchunk_http_requests_total\{route="\/v1\/chunks\/:id",method="GET",status="404",code="CHUNK_NOT_FOUND"\} 1/);
    } finally {
      await server.destroy();
    }
  });

  it('with anonymous reads off, every /v1 call needs a token; revoked tokens stop working at once', async () => {
    const server = await startServer(['--no-fsync', '--no-anonymous']);
    try {
      assert.equal((await http(server.url, 'GET', '/v1/images')).status, 401);
      const token = await server.token('read', 'host-1');
      assert.equal((await http(server.url, 'GET', '/v1/images', { token })).status, 200);
      const list = await runChunk(['token', 'list', '--data', server.dataDir, '--json']);
      const listed = JSON.parse(list.stdout).tokens.find((t: { name: string }) => t.name === 'host-1');
      assert.deepEqual(listed.scopes, ['read']);
      assert.equal(JSON.stringify(listed).includes(token), false, 'list never shows the token');
      assert.equal((await runChunk(['token', 'revoke', '--data', server.dataDir, 'host-1'])).code, 0);
      assert.equal((await http(server.url, 'GET', '/v1/images', { token })).status, 401);
      assert.equal((await runChunk(['token', 'create', '--data', server.dataDir, '--name', 'x', '--scope', 'root'])).code, 2);
    } finally {
      await server.destroy();
    }
  });

  it('collects unreferenced chunks after their lease, keeps referenced and leased ones, applies retention', async () => {
    const server = await startServer(['--no-fsync', '--lease', '1s', '--retention', '1', '--gc-interval', '0']);
    try {
      const [push, admin] = await Promise.all([server.token('push'), server.token('admin')]);
      const images = [await makeImage({ seed: 41, public: true })];
      images.push(await makeImage({ seed: 42, public: true, shareWith: images[0] }));
      images.push(await makeImage({ seed: 43, public: true, shareWith: images[1] }));
      let version = 0;
      for (const image of images) {
        for (const [id, bytes] of image.chunks) await http(server.url, 'PUT', `/v1/chunks/${id}`, { token: push, body: bytes });
        assert.equal((await http(server.url, 'PUT', `/v1/images/${image.fingerprint}`, { token: push, body: image.manifestBytes })).status, 201);
        const headers: Record<string, string> = version === 0 ? { 'if-none-match': '*' } : { 'if-match': `"${version}"` };
        version = (await http(server.url, 'PUT', '/v1/aliases/nightly', { token: push, body: { target: image.fingerprint }, headers })).json.version;
      }
      const orphan = seeded(2000, 44);
      await http(server.url, 'PUT', `/v1/chunks/${chunkId(orphan)}`, { token: push, body: orphan });

      assert.equal((await http(server.url, 'POST', '/v1/gc', { token: push })).status, 403);
      const leasedRun = await http(server.url, 'POST', '/v1/gc?dryRun=true', { token: admin });
      assert.equal(leasedRun.status, 200);
      assert.ok(leasedRun.json.leased >= 1, 'the fresh orphan is leased');

      // The orphan's lease (--lease 1s) has to run out: ask until GC no longer counts it as leased.
      let dry = (await http(server.url, 'POST', '/v1/gc?dryRun=true', { token: admin })).json;
      for (let tries = 0; dry.leased > 0 && tries < 200; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        dry = (await http(server.url, 'POST', '/v1/gc?dryRun=true', { token: admin })).json;
      }
      assert.equal(dry.leased, 0, 'the lease ran out');
      assert.equal(dry.dryRun, true);
      assert.deepEqual(new Set(dry.imagesDeleted), new Set([images[0]!.fingerprint, images[1]!.fingerprint]));
      const keptIds = new Set(images[2]!.chunks.keys());
      const droppable = new Set([...images[0]!.chunks.keys(), ...images[1]!.chunks.keys()].filter((id) => !keptIds.has(id)));
      assert.equal(dry.chunksDeleted, droppable.size + 1);
      // A dry run changed nothing.
      assert.equal((await http(server.url, 'GET', `/v1/images/${images[0]!.fingerprint}`)).status, 200);

      const real = (await http(server.url, 'POST', '/v1/gc', { token: admin })).json;
      assert.equal(real.chunksDeleted, droppable.size + 1);
      assert.ok(real.bytesFreed > 0);
      assert.equal((await http(server.url, 'GET', `/v1/images/${images[0]!.fingerprint}`)).status, 404);
      const missing = (await http(server.url, 'POST', '/v1/chunks/missing', { token: push, body: { ids: [...keptIds] } })).json.missing;
      assert.deepEqual(missing, [], 'every chunk of the current image survives');
      const second = (await http(server.url, 'POST', '/v1/gc', { token: admin })).json;
      assert.equal(second.chunksDeleted, 0);
    } finally {
      await server.destroy();
    }
  });

  it('chunk gc works offline on a stopped server data dir', async () => {
    const server = await startServer(['--no-fsync', '--lease', '0s']);
    const push = await server.token('push');
    const orphan = seeded(3000, 45);
    await http(server.url, 'PUT', `/v1/chunks/${chunkId(orphan)}`, { token: push, body: orphan });
    await server.stop();
    try {
      const dry = await runChunk(['gc', '--data', server.dataDir, '--dry-run', '--json']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(JSON.parse(dry.stdout).chunksDeleted, 1);
      const real = await runChunk(['gc', '--data', server.dataDir, '--json']);
      assert.equal(JSON.parse(real.stdout).chunksDeleted, 1);
      const human = await runChunk(['gc', '--data', server.dataDir]);
      assert.match(human.stdout, /deleted 0 image\(s\) past retention, 0 chunk\(s\)/);
    } finally {
      await server.destroy();
    }
  });
});
