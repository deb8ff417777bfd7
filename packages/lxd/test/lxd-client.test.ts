import { isLxchunkError } from '@lxchunk/errors';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { LxdClient } from '../src/index.js';
import { buildSplitImage, type SplitImage } from './image-fixture.js';
import { mountsUnder, startLxdDaemon, type LxdTestDaemon } from './lxd-daemon.js';

const run = promisify(execFile);

async function rejectsWithCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isLxchunkError(err, code as never), `expected ${code}, got ${String(err)}`);
    if (message) assert.match((err as Error).message, message);
    return err;
  }
  assert.fail(`expected a ${code} rejection`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('LxdClient against a real LXD daemon', function () {
  let daemon: LxdTestDaemon;
  let client: LxdClient;
  let work: string;
  let first: SplitImage;
  let second: SplitImage;
  let bare: SplitImage;
  let empty: SplitImage;

  before(async function () {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-lxd-test-'));
    [daemon, first, second, bare, empty] = await Promise.all([
      startLxdDaemon(),
      buildSplitImage(join(work, 'img1'), '1'),
      buildSplitImage(join(work, 'img2'), '2'),
      buildSplitImage(join(work, 'img3'), '3', { bareMetadata: true }),
      buildSplitImage(join(work, 'img4'), '4', { emptyProperties: true }),
    ]);
    client = await LxdClient.connect({ socketPath: daemon.socketPath });
  });

  after(async function () {
    await client?.close();
    await daemon?.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function lxcImageList(): Promise<Array<{ fingerprint: string; properties: Record<string, string> }>> {
    const { stdout } = await run('lxc', ['image', 'list', '--format', 'json'], { env: daemon.env });
    return JSON.parse(stdout) as Array<{ fingerprint: string; properties: Record<string, string> }>;
  }

  describe('connect', function () {
    it('connects through an explicit socket path and knows LXD_DIR', async function () {
      assert.equal(client.socketPath, daemon.socketPath);
      assert.equal(client.lxdDir, daemon.lxdDir);
      const info = await client.serverInfo();
      assert.equal(info.apiVersion, '1.0');
      assert.match(info.serverVersion, /^\d+\.\d+/);
    });

    it('finds the socket through $LXD_DIR', async function () {
      const saved = process.env.LXD_DIR;
      process.env.LXD_DIR = daemon.lxdDir;
      try {
        const viaEnv = await LxdClient.connect();
        try {
          assert.equal(viaEnv.socketPath, daemon.socketPath);
          assert.equal(viaEnv.lxdDir, daemon.lxdDir);
          assert.ok(Array.isArray(await viaEnv.listImages()));
        } finally {
          await viaEnv.close();
        }
      } finally {
        if (saved === undefined) delete process.env.LXD_DIR;
        else process.env.LXD_DIR = saved;
      }
    });

    it('fails with LXD_UNAVAILABLE on a missing socket', async function () {
      await rejectsWithCode(LxdClient.connect({ socketPath: join(work, 'no-such.socket'), timeoutMs: 2000 }), 'LXD_UNAVAILABLE', /no-such\.socket/);
    });

    it('fails with LXD_UNAVAILABLE when what answers is not LXD', async function () {
      const socketPath = join(work, 'not-lxd.socket');
      const server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('404 page not found\n'));
      await new Promise<void>((resolve) => server.listen(socketPath, resolve));
      try {
        await rejectsWithCode(LxdClient.connect({ socketPath, timeoutMs: 2000 }), 'LXD_UNAVAILABLE');
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });
  });

  describe('images', function () {
    it('imports a split image with its properties', async function () {
      assert.equal(await client.getImage(first.fingerprint), undefined);
      const fingerprint = await client.importImage({
        metadataPath: first.metadata,
        rootfsPath: first.rootfs,
        type: 'container',
        fingerprint: first.fingerprint,
        properties: { 'lxchunk.alias': 'test/one', description: 'a b&c=d%e' },
      });
      assert.equal(fingerprint, first.fingerprint);

      const image = await client.getImage(first.fingerprint);
      assert.ok(image);
      assert.equal(image.fingerprint, first.fingerprint);
      assert.equal(image.type, 'container');
      assert.equal(image.architecture, 'x86_64');
      assert.equal(image.public, false);
      assert.equal(image.filename, basename(first.rootfs));
      assert.ok(image.size > 0);
      assert.ok(image.uploadedAt);
      assert.deepEqual(image.aliases, []);
      assert.deepEqual(image.properties, { os: 'test', 'lxchunk.alias': 'test/one', description: 'a b&c=d%e' });

      const listed = await client.listImages();
      assert.deepEqual(
        listed.map((i) => i.fingerprint),
        [first.fingerprint],
      );
      const viaLxc = await lxcImageList();
      assert.deepEqual(
        viaLxc.map((i) => i.fingerprint),
        [first.fingerprint],
      );
      assert.equal(viaLxc[0]!.properties['lxchunk.alias'], 'test/one');
    });

    it('refuses a wrong fingerprint (LXD_ERROR) and leaves no image behind', async function () {
      const wrong = second.fingerprint.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      const err = await rejectsWithCode(
        client.importImage({ metadataPath: second.metadata, rootfsPath: second.rootfs, type: 'container', fingerprint: wrong }),
        'LXD_ERROR',
        /fingerprints don't match/,
      );
      assert.ok((err as Error).message.includes(second.fingerprint));
      assert.equal(await client.getImage(second.fingerprint), undefined);
      assert.equal(await client.getImage(wrong), undefined);
      assert.deepEqual(
        (await lxcImageList()).map((i) => i.fingerprint),
        [first.fingerprint],
      );
      const files = await readdir(join(daemon.lxdDir, 'images'));
      assert.deepEqual(files.sort(), [first.fingerprint, `${first.fingerprint}.rootfs`]);
    });

    it('refuses to import an image LXD already holds (LXD_ERROR)', async function () {
      await rejectsWithCode(
        client.importImage({ metadataPath: first.metadata, rootfsPath: first.rootfs, type: 'container', fingerprint: first.fingerprint }),
        'LXD_ERROR',
        /already exists/,
      );
    });

    it('sets properties on an image whose metadata.yaml has none (and LXD survives it)', async function () {
      const fingerprint = await client.importImage({
        metadataPath: bare.metadata,
        rootfsPath: bare.rootfs,
        type: 'container',
        fingerprint: bare.fingerprint,
        public: true,
        properties: { 'lxchunk.alias': 'bare' },
      });
      assert.equal(fingerprint, bare.fingerprint);
      const image = await client.getImage(bare.fingerprint);
      assert.deepEqual(image?.properties, { 'lxchunk.alias': 'bare' });
      assert.equal(image?.public, true);
      assert.equal((await client.serverInfo()).apiVersion, '1.0');
      assert.equal(await client.deleteImage(bare.fingerprint), true);
    });

    it('carries properties in the upload itself when metadata.yaml has a properties map, even an empty one', async function () {
      let whenImported: Record<string, string> | undefined;
      await client.importImage({
        metadataPath: empty.metadata,
        rootfsPath: empty.rootfs,
        type: 'container',
        fingerprint: empty.fingerprint,
        properties: { 'lxchunk.alias': 'empty', note: 'a=b&c d' },
        onImported: async () => {
          whenImported = (await client.getImage(empty.fingerprint))?.properties;
        },
      });
      assert.deepEqual(whenImported, { 'lxchunk.alias': 'empty', note: 'a=b&c d' }, 'no moment without them');
      assert.equal((await client.serverInfo()).apiVersion, '1.0');
      assert.equal(await client.deleteImage(empty.fingerprint), true);
    });

    it('rejects bad input before talking to LXD', async function () {
      await rejectsWithCode(client.getImage('abc'), 'INVALID_INPUT');
      await rejectsWithCode(client.getImage(first.fingerprint.slice(0, 12)), 'INVALID_INPUT');
      await rejectsWithCode(client.deleteImage(first.fingerprint.toUpperCase()), 'INVALID_INPUT');
      await rejectsWithCode(
        client.importImage({ metadataPath: join(work, 'missing.tar.xz'), rootfsPath: first.rootfs, type: 'container', fingerprint: first.fingerprint }),
        'INVALID_INPUT',
      );
      await rejectsWithCode(client.importImage({ metadataPath: work, rootfsPath: first.rootfs, type: 'container', fingerprint: first.fingerprint }), 'INVALID_INPUT');
      await rejectsWithCode(client.setAlias('', first.fingerprint), 'INVALID_INPUT');
    });

    it('stops an import when its signal is aborted', async function () {
      const controller = new AbortController();
      controller.abort(new Error('stop now'));
      await assert.rejects(
        client.importImage({ metadataPath: second.metadata, rootfsPath: second.rootfs, type: 'container', fingerprint: second.fingerprint, signal: controller.signal }),
        /stop now/,
      );
      assert.equal(await client.getImage(second.fingerprint), undefined);
    });

    it('reads the rootfs file LXD stores, when it is readable', async function () {
      const path = await client.localRootfsPath(first.fingerprint);
      assert.equal(path, join(daemon.lxdDir, 'images', `${first.fingerprint}.rootfs`));
      assert.ok((await readFile(path)).equals(await readFile(first.rootfs)));
      assert.equal(await client.localRootfsPath(second.fingerprint), undefined);
    });

    it('exports an image into files identical to the imported ones', async function () {
      const out = join(work, 'export', 'nested');
      const files = await client.exportImage(first.fingerprint, out);
      assert.ok(files.rootfs);
      assert.ok((await readFile(files.metadata)).equals(await readFile(first.metadata)));
      assert.ok((await readFile(files.rootfs)).equals(await readFile(first.rootfs)));
      assert.deepEqual((await readdir(out)).sort(), [basename(files.metadata), basename(files.rootfs)].sort());
      assert.ok(!basename(files.metadata).startsWith('.'));
      await rejectsWithCode(client.exportImage(second.fingerprint, out), 'LXD_ERROR', /not found/i);
      assert.deepEqual((await readdir(out)).length, 2, 'a failed export leaves no files');
    });
  });

  describe('aliases', function () {
    before(async function () {
      await client.importImage({ metadataPath: second.metadata, rootfsPath: second.rootfs, type: 'container', fingerprint: second.fingerprint });
    });

    it('creates an alias, then retargets it', async function () {
      const name = 'lxchunk/debian/bookworm';
      assert.equal(await client.getAlias(name), undefined);
      await client.setAlias(name, first.fingerprint, 'managed by lxchunk');
      assert.deepEqual(await client.getAlias(name), { name, target: first.fingerprint, description: 'managed by lxchunk' });
      assert.deepEqual((await client.getImage(first.fingerprint))?.aliases, [name]);

      await client.setAlias(name, second.fingerprint);
      assert.deepEqual(await client.getAlias(name), { name, target: second.fingerprint, description: 'managed by lxchunk' });
      assert.deepEqual((await client.getImage(first.fingerprint))?.aliases, []);
      assert.deepEqual((await client.getImage(second.fingerprint))?.aliases, [name]);

      await client.setAlias(name, second.fingerprint, 'new words');
      assert.equal((await client.getAlias(name))?.description, 'new words');
      await client.setAlias(name, second.fingerprint); // nothing to change
      assert.deepEqual(await client.getAlias(name), { name, target: second.fingerprint, description: 'new words' });

      const { stdout } = await run('lxc', ['image', 'alias', 'list', '--format', 'json'], { env: daemon.env });
      const viaLxc = JSON.parse(stdout) as Array<{ name: string; target: string }>;
      assert.deepEqual(
        viaLxc.map((a) => [a.name, a.target]),
        [[name, second.fingerprint]],
      );
    });

    it('handles names that need encoding in a URL', async function () {
      for (const name of ['a b/c%d?e#f', '..', 'x/../y', 'ünïcode:tag']) {
        await client.setAlias(name, first.fingerprint);
        assert.equal((await client.getAlias(name))?.target, first.fingerprint, name);
        assert.equal(await client.deleteAlias(name), true, name);
        assert.equal(await client.getAlias(name), undefined, name);
      }
    });

    it('deletes an alias (false when there is none)', async function () {
      await client.setAlias('to-delete', first.fingerprint);
      assert.equal(await client.deleteAlias('to-delete'), true);
      assert.equal(await client.deleteAlias('to-delete'), false);
      assert.equal(await client.getAlias('to-delete'), undefined);
    });

    it('refuses an alias to an image LXD does not hold (LXD_ERROR)', async function () {
      await rejectsWithCode(client.setAlias('dangling', bare.fingerprint), 'LXD_ERROR', /not found/i);
      assert.equal(await client.getAlias('dangling'), undefined);
    });
  });

  describe('deleteImage', function () {
    it('deletes an image with its aliases, then reports false', async function () {
      await client.setAlias('doomed', first.fingerprint);
      assert.equal(await client.deleteImage(first.fingerprint), true);
      assert.equal(await client.getImage(first.fingerprint), undefined);
      assert.equal(await client.getAlias('doomed'), undefined);
      assert.equal(await client.localRootfsPath(first.fingerprint), undefined);
      assert.equal(await client.deleteImage(first.fingerprint), false);
      assert.deepEqual(
        (await lxcImageList()).map((i) => i.fingerprint),
        [second.fingerprint],
      );
    });
  });
});

describe('startLxdDaemon', function () {
  it('reports LXD_UNAVAILABLE once the daemon is gone, and leaves no process, mount or directory behind', async function () {
    const daemon = await startLxdDaemon();
    const client = await LxdClient.connect({ socketPath: daemon.socketPath, timeoutMs: 5000 });
    assert.ok(alive(daemon.pid));
    assert.ok(mountsUnder(daemon.lxdDir).length > 0, 'LXD mounts shmounts and devlxd under its directory');
    await client.listImages();
    await daemon.stop();
    try {
      await rejectsWithCode(client.listImages(), 'LXD_UNAVAILABLE');
    } finally {
      await client.close();
    }
    assert.ok(!alive(daemon.pid));
    assert.deepEqual(mountsUnder(daemon.lxdDir), []);
    await assert.rejects(readdir(daemon.lxdDir), { code: 'ENOENT' });
    await daemon.stop(); // idempotent
  });

  after(async function () {
    // No daemon of ours may survive: LXD processes whose LXD_DIR startLxdDaemon made, and their mounts.
    const { stdout } = await run('findmnt', ['-rn', '-o', 'TARGET']);
    assert.deepEqual(
      stdout.split('\n').filter((target) => target.includes('/lxchunk-lxd-')),
      [],
      'mounts left behind',
    );
    const pids = await run('pgrep', ['-x', 'lxd']).then(
      (r) => r.stdout.split('\n').filter(Boolean),
      () => [],
    );
    const ours: string[] = [];
    for (const pid of pids) {
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
      if (/(^|\0)LXD_DIR=[^\0]*lxchunk-lxd-/.test(environ)) ours.push(pid);
    }
    assert.deepEqual(ours, [], 'lxd processes left behind');
  });
});
