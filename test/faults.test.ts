import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ChunkServerClient } from '@lxchunk/client';
import { chunkLikePush } from './helpers/chunk-like-push.js';
import { http } from './helpers/http.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk, type RunResult } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const run = promisify(execFile);

/** The process was killed by the crash point it was told to stop at (no exit code of its own). */
function assertKilled(result: RunResult, point: string): void {
  assert.equal(result.code, null, `expected a kill at ${point}, got exit ${result.code}: ${result.stderr}`);
}

const listing = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort();

/**
 * kill -9 at chosen steps (LXCHUNK_CRASH_AT names the step, see crashPoint), then the same command
 * again: the result must be byte-exact and nothing may be left behind.
 */
describe('crash recovery: kill -9 at chosen points of push, pull and GC (real server, real files)', () => {
  let work: string;
  let v1: LxdImageFiles;
  let v2: LxdImageFiles;
  let v3: LxdImageFiles;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-faults-'));
    v1 = await buildLxdImage(join(work, 'v1'), { seed: 31, serial: '1' });
    v2 = await buildLxdImage(join(work, 'v2'), { seed: 31, from: v1, serial: '2' });
    v3 = await buildLxdImage(join(work, 'v3'), { seed: 31, from: v2, serial: '3' });
  });
  after(async () => rm(work, { recursive: true, force: true }));

  const sameFiles = async (out: string, image: LxdImageFiles) => {
    assert.deepEqual(await listing(out), [image.fingerprint, `${image.fingerprint}.rootfs`].sort(), 'only the two image files, no staging');
    assert.ok((await readFile(join(out, image.fingerprint))).equals(await readFile(image.metadata)), 'metadata byte-exact');
    assert.ok((await readFile(join(out, `${image.fingerprint}.rootfs`))).equals(await readFile(image.rootfs)), 'rootfs byte-exact');
  };

  describe('push', () => {
    let server: ServerProcess;
    let env: NodeJS.ProcessEnv;
    beforeEach(async () => {
      server = await startServer(['--no-fsync', '--gc-interval', '0']);
      env = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push,read') };
    });
    afterEach(async () => server.destroy());

    for (const point of ['push.upload:1', 'push.commit']) {
      it(`killed at ${point}, run again: the image is whole and the alias points at it`, async () => {
        const args = ['push', '--json', '--no-content', '--alias', 'faults/a', v1.metadata, v1.rootfs];
        assertKilled(await runChunk(args, { env: { ...env, LXCHUNK_CRASH_AT: point } }), point);
        const again = await runChunk(args, { env });
        assert.equal(again.code, 0, again.stderr);
        assert.equal((JSON.parse(again.stdout) as { fingerprint: string }).fingerprint, v1.fingerprint);
        const alias = await http(server.url, 'GET', '/v1/aliases/faults/a', { token: env.LXCHUNK_TOKEN });
        assert.equal(alias.json.target, v1.fingerprint);
        const out = join(work, `pull-after-${point}`);
        const pulled = await runChunk(['pull', '--json', 'faults/a', '--out', out], { env });
        assert.equal(pulled.code, 0, pulled.stderr);
        await sameFiles(out, v1);
        assert.deepEqual(await listing(join(server.dataDir, 'tmp')), [], 'no temp file left on the server');
      });
    }
  });

  describe('pull', () => {
    let server: ServerProcess;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      server = await startServer(['--no-fsync', '--gc-interval', '0']);
      env = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push,read') };
      for (const image of [v1, v2]) {
        const pushed = await runChunk(['push', '--json', '--no-content', image.metadata, image.rootfs], { env });
        assert.equal(pushed.code, 0, pushed.stderr);
      }
    });
    after(async () => server.destroy());

    for (const point of ['pull.fetch:1', 'pull.fetch:100', 'pull.verified', 'pull.rename:1']) {
      it(`killed at ${point}, run again: byte-exact, nothing left in the output or the cache`, async () => {
        const out = join(work, `pull-${point}`);
        const cache = join(work, `cache-${point}`);
        const args = ['pull', '--json', v2.fingerprint, '--out', out, '--cache', cache];
        assertKilled(await runChunk(args, { env: { ...env, LXCHUNK_CRASH_AT: point } }), point);
        const again = await runChunk(args, { env });
        assert.equal(again.code, 0, again.stderr);
        await sameFiles(out, v2);
        assert.deepEqual(await listing(join(cache, 'tmp')), [], 'no temp file left in the cache');
      });
    }
  });

  it('GC killed while deleting, the server restarted at once: GC finishes and nothing referenced is lost', async () => {
    const dataDir = join(work, 'gc-data');
    await mkdir(dataDir);
    // No leases: the superseded images' chunks are collectable at once (no GC runs during the setup).
    const setup = await startServer(['--no-fsync', '--gc-interval', '0', '--retention', '1', '--lease', '0'], dataDir);
    const env = { LXCHUNK_SERVER: setup.url, LXCHUNK_TOKEN: await setup.token('push,read') };
    const admin = await setup.token('admin');
    for (const image of [v1, v2, v3]) {
      const pushed = await runChunk(['push', '--json', '--no-content', '--alias', 'faults/gc', image.metadata, image.rootfs], { env });
      assert.equal(pushed.code, 0, pushed.stderr);
    }
    assert.equal(await setup.stop(), 0);

    const doomed = await startServer(['--no-fsync', '--gc-interval', '0', '--retention', '1'], dataDir, { env: { LXCHUNK_CRASH_AT: 'gc.delete:3' } });
    const exited = new Promise((resolve) => doomed.child.once('exit', (_code, signal) => resolve(signal)));
    try {
      const gc = await http(doomed.url, 'POST', '/v1/gc', { token: admin }).catch((err: unknown) => err);
      assert.ok(gc instanceof Error, 'the connection died with the server');
      assert.equal(await exited, 'SIGKILL');
    } finally {
      doomed.child.kill('SIGKILL');
    }

    const server = await startServer(['--no-fsync', '--gc-interval', '0', '--retention', '1'], dataDir);
    try {
      const report = await http(server.url, 'POST', '/v1/gc', { token: admin });
      assert.equal(report.status, 200, report.body.toString());
      assert.ok(report.json.chunksDeleted > 0, 'the interrupted pass left chunks to collect');
      const images = await http(server.url, 'GET', '/v1/images', { token: env.LXCHUNK_TOKEN });
      assert.deepEqual(images.json.images.map((image: { fingerprint: string }) => image.fingerprint), [v3.fingerprint]);
      const client = new ChunkServerClient({ url: server.url, token: env.LXCHUNK_TOKEN });
      try {
        const ids = [...(await chunkLikePush(v3.metadata)).chunks, ...(await chunkLikePush(v3.rootfs)).chunks].map((chunk) => chunk.id);
        assert.deepEqual(await client.missingChunks(ids), [], 'every chunk of the kept image is stored');
      } finally {
        await client.close();
      }
      const out = join(work, 'pull-after-gc');
      const pulled = await runChunk(['pull', '--json', 'faults/gc', '--out', out], { env: { ...env, LXCHUNK_SERVER: server.url } });
      assert.equal(pulled.code, 0, pulled.stderr);
      await sameFiles(out, v3);
      assert.deepEqual(await listing(join(dataDir, 'tmp')), []);
    } finally {
      await server.stop();
    }
  });

  describe('a full disk on the host', () => {
    let server: ServerProcess;
    let env: NodeJS.ProcessEnv;
    let mountPoint: string;
    before(async () => {
      server = await startServer(['--no-fsync', '--gc-interval', '0']);
      env = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push,read') };
      const pushed = await runChunk(['push', '--json', '--no-content', v1.metadata, v1.rootfs], { env });
      assert.equal(pushed.code, 0, pushed.stderr);
      mountPoint = join(work, 'small-disk');
      await mkdir(mountPoint);
      await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint]);
    });
    after(async () => {
      await run('umount', [mountPoint]).catch(() => undefined);
      await server.destroy();
    });

    it('a pull that runs out of space fails with IO_ERROR naming the file; with room again it finishes byte-exact', async () => {
      const out = join(mountPoint, 'out');
      const full = await runChunk(['pull', '--json', v1.fingerprint, '--out', out], { env });
      assert.equal(full.code, 5, full.stderr);
      assert.match(full.stderr, /IO_ERROR/);
      assert.match(full.stderr, /no space left|ENOSPC/i);
      assert.ok(!(await listing(out)).includes(v1.fingerprint) && !(await listing(out)).includes(`${v1.fingerprint}.rootfs`), 'no file under its final name');
      await run('mount', ['-o', 'remount,size=64m', mountPoint]);
      const again = await runChunk(['pull', '--json', v1.fingerprint, '--out', out], { env });
      assert.equal(again.code, 0, again.stderr);
      await sameFiles(out, v1);
    });
  });
});
