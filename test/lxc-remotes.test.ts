import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startLxdDaemon, type LxdTestDaemon } from '@lxchunk/lxd/test-daemon';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { serverMetric } from './helpers/server-metric.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const run = promisify(execFile);

/**
 * The stock `lxc` client and a real LXD daemon (Debian's lxd 5.0.2) against a real lxchunk server
 * over HTTPS with its self-signed certificate: both image-server protocols, and the simplestreams
 * delta used when LXD holds the previous build.
 */
describe('stock lxc against lxchunk: LXD protocol and simplestreams remotes (real lxc, real LXD, self-signed TLS)', function () {
  this.timeout(600_000);
  let work: string;
  let lxd: LxdTestDaemon;
  let server: ServerProcess;
  let lxcEnv: NodeJS.ProcessEnv;
  let pushEnv: NodeJS.ProcessEnv;
  let v1: LxdImageFiles;
  let v2: LxdImageFiles;
  let certificate: string;
  const metric = (name: string, labels: Record<string, string> = {}) => serverMetric(server, name, labels, { ca: certificate });

  const lxc = async (...args: string[]) => {
    try {
      return (await run('lxc', args, { env: lxcEnv, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 })).stdout;
    } catch (err) {
      const { stderr, stdout } = err as { stderr?: string; stdout?: string };
      throw new Error(`lxc ${args.join(' ')} failed: ${stderr ?? ''} ${stdout ?? ''}\nserver log tail: ${server.stderr().slice(-3000)}`, { cause: err });
    }
  };
  const localImages = async () => (JSON.parse(await lxc('image', 'list', 'local:', '--format', 'json')) as Array<{ fingerprint: string }>).map((i) => i.fingerprint);
  const push = async (image: LxdImageFiles) => {
    const pushed = await runChunk(['push', '--json', '--public', '--alias', 'lxc/nightly', image.metadata, image.rootfs], { env: pushEnv });
    assert.equal(pushed.code, 0, pushed.stderr);
  };
  /** Requests the server logged for a path (its access log, one JSON line each). */
  const requested = (path: string) =>
    server
      .stderr()
      .split('\n')
      .filter((line) => line.includes(`"path":"${path}"`)).length;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-lxc-'));
    lxd = await startLxdDaemon();
    server = await startServer(['--no-fsync', '--tls-self-signed']);
    assert.match(server.url, /^https:/);
    certificate = await readFile(join(server.dataDir, 'tls', 'server.crt'), 'utf8');
    lxcEnv = { ...lxd.env, LXD_CONF: join(work, 'lxc-conf') };
    await mkdir(lxcEnv.LXD_CONF!, { recursive: true });
    pushEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push'), LXCHUNK_SERVER_FINGERPRINT: server.tlsFingerprint! };
    v1 = await buildLxdImage(join(work, 'v1'), { seed: 77, serial: '1', files: 160 });
    v2 = await buildLxdImage(join(work, 'v2'), { seed: 77, serial: '2', from: v1, change: 10 });
    await push(v1);
  });
  after(async () => {
    await server?.destroy();
    await lxd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('LXD protocol: `lxc remote add --public --accept-certificate` pins the self-signed certificate; `lxc image copy` imports the exact image', async () => {
    await lxc('remote', 'add', 'lx', server.url, '--public', '--accept-certificate');
    // What lxc pinned is the certificate the server printed.
    const pinned = await readFile(join(lxcEnv.LXD_CONF!, 'servercerts', 'lx.crt'), 'utf8');
    assert.equal(pinned.replace(/\s+/g, ''), (await readFile(join(server.dataDir, 'tls', 'server.crt'), 'utf8')).replace(/\s+/g, ''));
    const listed = await lxc('image', 'list', 'lx:', '--format', 'json');
    assert.ok((JSON.parse(listed) as Array<{ fingerprint: string }>).some((i) => i.fingerprint === v1.fingerprint));
    await lxc('image', 'copy', 'lx:lxc/nightly', 'local:');
    assert.ok((await localImages()).includes(v1.fingerprint));
    assert.ok((await stat(join(lxd.lxdDir, 'images', `${v1.fingerprint}.rootfs`))).isFile());
    assert.ok(requested(`/1.0/images/${v1.fingerprint}/export`) >= 1, 'the daemon downloaded through /export');
    await lxc('image', 'delete', `local:${v1.fingerprint}`);
  });

  it('simplestreams: the remote trusts the certificate placed in servercerts/NAME.crt; `lxc image copy` imports the exact image', async () => {
    await lxc('remote', 'add', 'ss', server.url, '--protocol', 'simplestreams');
    // `lxc remote add --protocol simplestreams` fetches no certificate: lxc and the daemon trust
    // the one in servercerts/ss.crt (lxc/config/remote.go), so the operator puts it there.
    await copyFile(join(server.dataDir, 'tls', 'server.crt'), join(lxcEnv.LXD_CONF!, 'servercerts', 'ss.crt'));
    await lxc('image', 'copy', 'ss:lxc/nightly', 'local:');
    assert.ok((await localImages()).includes(v1.fingerprint));
    assert.ok(requested(`/streams/v1/files/${v1.fingerprint}/root.squashfs`) >= 1);
  });

  it('after the alias moves to the next build, LXD holding the previous one copies it with the delta item, not the squashfs', async () => {
    await push(v2);
    // LXD keeps a remote's index and products for an hour (client/connection.go): a nightly arrives
    // a day later; here the daemon's copy is made to look that old.
    const aged = new Date(Date.now() - 3 * 3600_000);
    const cache = join(lxd.lxdDir, 'cache');
    for (const dir of await readdir(cache)) {
      const path = join(cache, dir);
      if (!(await stat(path)).isDirectory()) continue;
      for (const file of await readdir(path)) await utimes(join(path, file), aged, aged);
    }
    const deltasBefore = await metric('lxchunk_simplestreams_deltas_served_total');
    const bytesBefore = await metric('lxchunk_bytes_served_total', { protocol: 'simplestreams' });
    await lxc('image', 'copy', 'ss:lxc/nightly', 'local:');
    assert.ok((await localImages()).includes(v2.fingerprint));
    // LXD checked the fingerprint over what it assembled; the files are the exact build too.
    assert.ok((await readFile(join(lxd.lxdDir, 'images', `${v2.fingerprint}.rootfs`))).equals(await readFile(v2.rootfs)));
    assert.equal(await metric('lxchunk_simplestreams_deltas_served_total'), deltasBefore + 1);
    assert.equal(requested(`/streams/v1/files/${v2.fingerprint}/root.squashfs`), 0, 'the whole squashfs was not downloaded');
    assert.equal(requested(`/streams/v1/files/${v2.fingerprint}/delta-${v1.fingerprint}.vcdiff`), 1);
    const spent = (await metric('lxchunk_bytes_served_total', { protocol: 'simplestreams' })) - bytesBefore;
    const squashfs = (await stat(v2.rootfs)).size;
    assert.ok(spent < squashfs / 2, `the update cost ${spent} bytes over simplestreams, the squashfs is ${squashfs}`);
  });
});
