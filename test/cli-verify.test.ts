import assert from 'node:assert/strict';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from './helpers/http.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { flipStoredByte, quarantinedFiles, storedChunkPaths } from './helpers/stored-chunks.js';

interface VerifyJson {
  repair: boolean;
  chunks: number;
  ok: number;
  corrupt: number;
  unreadable: number;
  quarantined: number;
  okBytes: number;
  corruptBytes: number;
  problems: { id: string; kind: string; code: string; quarantined: boolean }[];
}

describe('chunk verify (real data dir, real server process)', () => {
  let work: string;
  let dataDir: string;
  let image: LxdImageFiles;
  let server: ServerProcess | undefined;
  let pushToken: string;
  let adminToken: string;

  const verify = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = await runChunk(['verify', '--json', ...args], { env });
    return { ...result, json: JSON.parse(result.stdout) as VerifyJson };
  };
  const push = async () => {
    const result = await runChunk(['push', '--json', '--no-content', image.metadata, image.rootfs], { env: { LXCHUNK_SERVER: server!.url, LXCHUNK_TOKEN: pushToken } });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as { chunksUploaded: number; chunksTotal: number };
  };
  const exists = (path: string) => access(path).then(() => true, () => false);
  /** Two chunks of the image, damaged on disk; returns their ids. */
  const damageTwo = async (): Promise<string[]> => {
    const paths = await storedChunkPaths(dataDir);
    const ids = [...paths.keys()].sort().slice(2, 4);
    for (const id of ids) await flipStoredByte(paths.get(id)!);
    return ids;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-verify-'));
    dataDir = join(work, 'data');
    image = await buildLxdImage(join(work, 'image'), { seed: 41, serial: '20261203' });
    server = await startServer(['--no-fsync'], dataDir);
    pushToken = await server.token('push');
    adminToken = await server.token('admin');
    await push();
  });
  after(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  describe('offline, on the data dir', () => {
    before(async () => {
      await server!.stop();
      server = undefined;
    });

    it('an intact store: every chunk ok, exit 0', async () => {
      const result = await verify(['--data', dataDir]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.json.corrupt, 0);
      assert.equal(result.json.ok, (await storedChunkPaths(dataDir)).size);
      assert.ok(result.json.okBytes > 0);
    });

    it('finds corrupt chunks and exits 4, leaving them in place; --repair quarantines them, still exiting 4', async () => {
      const ids = await damageTwo();
      const found = await verify(['--data', dataDir]);
      assert.equal(found.code, 4, found.stderr);
      assert.equal(found.json.corrupt, 2);
      assert.equal(found.json.quarantined, 0);
      assert.deepEqual(found.json.problems.map((p) => [p.id, p.kind, p.code, p.quarantined]), ids.map((id) => [id, 'corrupt', 'CHUNK_CORRUPT', false]));
      assert.ok(found.json.corruptBytes > 0);
      assert.deepEqual([...(await storedChunkPaths(dataDir)).keys()].filter((id) => ids.includes(id)).sort(), ids, 'without --repair nothing moves');

      const human = await runChunk(['verify', '--data', dataDir]);
      assert.equal(human.code, 4);
      assert.match(human.stdout, /2 corrupt/);
      assert.match(human.stdout, /--repair/);

      const repaired = await verify(['--data', dataDir, '--repair']);
      assert.equal(repaired.code, 4, 'corruption was found, even if now quarantined');
      assert.equal(repaired.json.quarantined, 2);
      const stored = await storedChunkPaths(dataDir);
      assert.ok(ids.every((id) => !stored.has(id)), 'the corrupt chunks left chunks/');
      const held = await quarantinedFiles(dataDir);
      assert.deepEqual(held.map((name) => name.slice(0, 64)).sort(), ids);

      const clean = await verify(['--data', dataDir]);
      assert.equal(clean.code, 0, clean.stderr);
      assert.equal(clean.json.chunks, stored.size);
    });

    it('is refused while a server holds the data dir (exit 8, DATA_DIR_LOCKED)', async () => {
      server = await startServer(['--no-fsync'], dataDir);
      const result = await runChunk(['verify', '--json', '--data', dataDir]);
      assert.equal(result.code, 8, result.stderr);
      assert.equal(JSON.parse(result.stdout).error.code, 'DATA_DIR_LOCKED');
    });
  });

  describe('online, inside the running server', () => {
    const admin = () => ({ LXCHUNK_SERVER: server!.url, LXCHUNK_TOKEN: adminToken });

    before(async () => {
      server ??= await startServer(['--no-fsync'], dataDir);
      // The chunks the offline repair quarantined come back with the next push.
      await push();
    });

    it('finds corrupt chunks (exit 4); --repair quarantines them, the server then reports them missing, and a push repairs them', async () => {
      const before = await verify([], admin());
      assert.equal(before.code, 0, before.stderr);
      assert.equal(before.json.corrupt, 0);
      const ids = await damageTwo();

      const found = await verify([], admin());
      assert.equal(found.code, 4, found.stderr);
      assert.equal(found.json.corrupt, 2);
      assert.deepEqual(found.json.problems.map((p) => p.id).sort(), ids);
      assert.ok(await exists((await storedChunkPaths(dataDir)).get(ids[0]!)!), 'without --repair nothing moves');

      const repaired = await verify(['--repair', '--server', server!.url], { LXCHUNK_TOKEN: adminToken });
      assert.equal(repaired.code, 4, repaired.stderr);
      assert.equal(repaired.json.quarantined, 2);
      const missing = await http(server!.url, 'POST', '/v1/chunks/missing', { token: pushToken, body: { ids } });
      assert.deepEqual((missing.json as { missing: string[] }).missing.sort(), ids);
      assert.equal((await push()).chunksUploaded, 2);
      const clean = await verify([], admin());
      assert.equal(clean.code, 0, clean.stderr);
    });

    it('needs an admin token: a push token gets exit 7, FORBIDDEN', async () => {
      const result = await runChunk(['verify', '--json'], { env: { LXCHUNK_SERVER: server!.url, LXCHUNK_TOKEN: pushToken } });
      assert.equal(result.code, 7, result.stderr);
      assert.equal(JSON.parse(result.stdout).error.code, 'FORBIDDEN');
    });

    it('streams progress lines, then the report, as NDJSON', async () => {
      // Plain fetch: the http helper would parse the body as one JSON document.
      const result = await fetch(`${server!.url}/v1/admin/verify`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
      assert.equal(result.status, 200);
      assert.match(result.headers.get('content-type')!, /^application\/x-ndjson/);
      const lines = (await result.text()).trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
      const report = lines.at(-1)!.report as VerifyJson;
      assert.equal(report.corrupt, 0);
      const progress = lines.slice(0, -1).map((line) => line.progress as { done: number; total: number });
      assert.ok(progress.length >= 1, 'at least the last progress line');
      assert.deepEqual(progress.at(-1), { done: report.chunks, total: report.chunks });
    });

    it('refuses --data together with --server (exit 2)', async () => {
      const result = await runChunk(['verify', '--data', dataDir, '--server', server!.url]);
      assert.equal(result.code, 2, result.stderr);
    });
  });
});
