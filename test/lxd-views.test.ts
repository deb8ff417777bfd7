import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { http } from './helpers/http.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { buildUnifiedImage } from './helpers/unified-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { serverMetric as metric } from './helpers/server-metric.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

const run = promisify(execFile);

interface Item {
  ftype: string;
  path: string;
  sha256: string;
  size: number;
  combined_squashfs_sha256?: string;
  delta_base?: string;
}
interface Products {
  products: Record<string, { aliases: string; arch: string; versions: Record<string, { items: Record<string, Item> }> }>;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('LXD protocol and simplestreams views (real server, real mksquashfs images, real xdelta3)', function () {
  this.timeout(300_000);
  let work: string;
  let server: ServerProcess;
  let pushEnv: NodeJS.ProcessEnv;
  const builds: LxdImageFiles[] = [];
  let secret: LxdImageFiles;

  const push = async (image: LxdImageFiles, alias: string, ...extra: string[]) => {
    const pushed = await runChunk(['push', '--json', '--alias', alias, ...extra, image.metadata, image.rootfs], { env: pushEnv });
    assert.equal(pushed.code, 0, pushed.stderr);
  };
  const products = async (target = server, headers: Record<string, string> = {}) => {
    const response = await http(target.url, 'GET', '/streams/v1/images.json', { headers });
    assert.equal(response.status, 200, response.body.toString());
    return response.json as Products;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-views-'));
    server = await startServer(['--no-fsync']);
    pushEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    let from: LxdImageFiles | undefined;
    for (const serial of ['1', '2', '3', '4']) {
      const image = await buildLxdImage(join(work, `v${serial}`), { seed: 90, serial, files: 120, ...(from ? { from, change: 8 } : {}) });
      builds.push(image);
      await push(image, 'views/nightly', '--public');
      from = image;
    }
    secret = await buildLxdImage(join(work, 'secret'), { seed: 91, serial: '1', files: 40 });
    await push(secret, 'views/secret');
  });
  after(async () => {
    await server?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('GET /1.0 answers as a public LXD image server, in LXD\'s envelope', async () => {
    const response = await http(server.url, 'GET', '/1.0');
    assert.equal(response.status, 200);
    assert.deepEqual({ ...response.json, metadata: undefined }, { type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata: undefined });
    assert.equal(response.json.metadata.public, true);
    assert.equal(response.json.metadata.api_version, '1.0');
  });

  it('lists public images and aliases only to anonymous callers, resolves aliases (escaped "/") and fingerprint prefixes', async () => {
    const newest = builds.at(-1)!;
    const list = await http(server.url, 'GET', '/1.0/images');
    assert.ok(list.json.metadata.includes(`/1.0/images/${newest.fingerprint}`));
    assert.ok(!list.json.metadata.includes(`/1.0/images/${secret.fingerprint}`), 'a private image is not listed anonymously');
    const full = await http(server.url, 'GET', '/1.0/images?recursion=1');
    const image = (full.json.metadata as Array<{ fingerprint: string; public: boolean; size: number; type: string; aliases: Array<{ name: string }> }>).find((i) => i.fingerprint === newest.fingerprint)!;
    const sizes = (await readFile(newest.metadata)).length + (await readFile(newest.rootfs)).length;
    assert.deepEqual([image.public, image.size, image.type, image.aliases.map((a) => a.name)], [true, sizes, 'container', ['views/nightly']]);

    const alias = await http(server.url, 'GET', '/1.0/images/aliases/views%2Fnightly?project=default');
    assert.deepEqual(alias.json.metadata, { name: 'views/nightly', description: '', target: newest.fingerprint, type: 'container' });
    const byPrefix = await http(server.url, 'GET', `/1.0/images/${newest.fingerprint.slice(0, 12)}`);
    assert.equal(byPrefix.json.metadata.fingerprint, newest.fingerprint);

    for (const path of ['/1.0/images/aliases/views%2Fsecret', `/1.0/images/${secret.fingerprint}`, `/1.0/images/${secret.fingerprint}/export`]) {
      const hidden = await http(server.url, 'GET', path);
      assert.equal(hidden.status, 404, path);
      assert.equal(hidden.json.type, 'error');
      assert.equal(hidden.json.error_code, 404);
    }
    const token = await server.token('read');
    const withToken = await http(server.url, 'GET', '/1.0/images/aliases/views%2Fsecret', { token });
    assert.equal(withToken.json.metadata.target, secret.fingerprint, 'a read token sees private aliases');
    const bad = await http(server.url, 'GET', '/1.0/images/not-hex');
    assert.equal(bad.status, 400);
    assert.match(bad.json.error, /not an image fingerprint/);
    const write = await http(server.url, 'POST', '/1.0/images', { body: {} });
    assert.equal(write.json.type, 'error');
  });

  it('exports an image as LXD does: multipart metadata then rootfs, streamed from chunks, its sha256 the fingerprint', async () => {
    const newest = builds.at(-1)!;
    const response = await fetch(`${server.url}/1.0/images/${newest.fingerprint}/export`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^multipart\/form-data; boundary=/);
    const length = Number(response.headers.get('content-length'));
    const raw = Buffer.from(await response.arrayBuffer());
    assert.equal(raw.length, length);
    const form = await new Response(raw, { headers: { 'content-type': response.headers.get('content-type')! } }).formData();
    assert.deepEqual([...form.keys()], ['metadata', 'rootfs']);
    const metadata = Buffer.from(await (form.get('metadata') as File).arrayBuffer());
    const rootfs = Buffer.from(await (form.get('rootfs') as File).arrayBuffer());
    assert.ok(metadata.equals(await readFile(newest.metadata)));
    assert.ok(rootfs.equals(await readFile(newest.rootfs)));
    assert.equal(sha256(Buffer.concat([metadata, rootfs])), newest.fingerprint);
    assert.equal((form.get('rootfs') as File).name, `${newest.fingerprint}.squashfs`);
    assert.match(response.headers.get('cache-control')!, /public/);
  });

  it('simplestreams: index and products from the alias history, versions YYYYMMDD_HHMM newest last, LXD\'s items', async () => {
    const index = await http(server.url, 'GET', '/streams/v1/index.json');
    assert.equal(index.json.index.images.path, 'streams/v1/images.json');
    assert.deepEqual(index.json.index.images.products, ['lxchunk:views/nightly:amd64']);
    const { products: all } = await products();
    assert.deepEqual(Object.keys(all), ['lxchunk:views/nightly:amd64'], 'the private alias is not listed anonymously');
    const product = all['lxchunk:views/nightly:amd64']!;
    assert.equal(product.aliases, 'views/nightly');
    const versions = Object.keys(product.versions).sort();
    assert.equal(versions.length, 4);
    for (const key of versions) assert.match(key, /^\d{8}_\d{4}(_\d{2})?$/);
    // Sorted names follow the pushes: the newest build has the greatest name.
    const newestItems = product.versions[versions.at(-1)!]!.items;
    const newest = builds.at(-1)!;
    assert.equal(newestItems['lxd.tar.xz']!.combined_squashfs_sha256, newest.fingerprint);
    assert.equal(newestItems['lxd.tar.xz']!.sha256, sha256(await readFile(newest.metadata)));
    assert.equal(newestItems['root.squashfs']!.ftype, 'squashfs');
    assert.equal(newestItems['root.squashfs']!.size, (await readFile(newest.rootfs)).length);
    for (const [i, key] of versions.entries()) assert.equal(product.versions[key]!.items['lxd.tar.xz']!.combined_squashfs_sha256, builds[i]!.fingerprint);
    // Files as listed, byte for byte.
    const squashfs = await http(server.url, 'GET', `/${newestItems['root.squashfs']!.path}`);
    assert.equal(squashfs.status, 200);
    assert.equal(sha256(squashfs.body), newestItems['root.squashfs']!.sha256);
    assert.ok(squashfs.body.equals(await readFile(newest.rootfs)));

    const token = await server.token('read');
    const basic = `Basic ${Buffer.from(`token:${token}`).toString('base64')}`;
    const withToken = await products(server, { authorization: basic });
    assert.ok('lxchunk:views/secret:amd64' in withToken.products, 'a token given as the Basic password (https://token:SECRET@host) sees private images');
    const hidden = await http(server.url, 'GET', `/streams/v1/files/${secret.fingerprint}/root.squashfs`);
    assert.equal(hidden.status, 404);
  });

  it('a unified image is one attachment over LXD\'s export and lxd_combined.tar.gz in simplestreams; a VM image is rootfs.img / disk-kvm.img', async () => {
    const unified = await buildUnifiedImage(join(work, 'unified'), { seed: 92, serial: '1' });
    const pushedUnified = await runChunk(['push', '--json', '--public', '--alias', 'views/unified', unified.tarball], { env: pushEnv });
    assert.equal(pushedUnified.code, 0, pushedUnified.stderr);
    const exported = await http(server.url, 'GET', `/1.0/images/${unified.fingerprint}/export`);
    assert.equal(exported.headers.get('content-disposition'), `attachment; filename="${unified.fingerprint}.tar.xz"`);
    assert.ok(exported.body.equals(await readFile(unified.tarball)));

    // A qcow2 v3 header as qemu-img writes it (qemu-img is not installed here).
    const disk = Buffer.alloc(196_608);
    disk.write('QFI\xfb', 0, 'latin1');
    disk.writeUInt32BE(3, 4);
    disk.writeUInt32BE(16, 20);
    disk.writeBigUInt64BE(16n * 1024n * 1024n, 24);
    disk.writeUInt32BE(104, 100);
    const diskPath = join(work, 'disk.qcow2');
    await writeFile(diskPath, disk);
    const pushedVm = await runChunk(['push', '--json', '--public', '--alias', 'views/vm', builds[0]!.metadata, diskPath], { env: pushEnv });
    assert.equal(pushedVm.code, 0, pushedVm.stderr);
    const vm = JSON.parse(pushedVm.stdout) as { fingerprint: string };
    const vmExport = await fetch(`${server.url}/1.0/images/${vm.fingerprint}/export`);
    const form = await new Response(Buffer.from(await vmExport.arrayBuffer()), { headers: { 'content-type': vmExport.headers.get('content-type')! } }).formData();
    assert.deepEqual([...form.keys()], ['metadata', 'rootfs.img']);
    assert.ok(Buffer.from(await (form.get('rootfs.img') as File).arrayBuffer()).equals(disk));
    const alias = await http(server.url, 'GET', '/1.0/images/aliases/views%2Fvm');
    assert.equal(alias.json.metadata.type, 'virtual-machine', 'the daemon asks for an alias of the type it wants');

    const { products: all } = await products();
    const unifiedItems = Object.values(all['lxchunk:views/unified:amd64']!.versions)[0]!.items;
    assert.deepEqual(Object.keys(unifiedItems), ['lxd_combined.tar.gz']);
    assert.equal(unifiedItems['lxd_combined.tar.gz']!.sha256, unified.fingerprint, 'LXD takes its sha256 as the fingerprint');
    const vmItems = Object.values(all['lxchunk:views/vm:amd64']!.versions)[0]!.items as Record<string, Item & { 'combined_disk-kvm-img_sha256'?: string }>;
    assert.deepEqual(Object.keys(vmItems).sort(), ['disk-kvm.img', 'lxd.tar.xz']);
    assert.equal(vmItems['lxd.tar.xz']!['combined_disk-kvm-img_sha256'], vm.fingerprint);
    const fetched = await http(server.url, 'GET', `/${vmItems['disk-kvm.img']!.path}`);
    assert.ok(fetched.body.equals(disk));
  });

  it('simplestreams deltas: the newest build carries squashfs.vcdiff items from the 3 builds before it; xdelta3 -d gives the exact squashfs', async () => {
    const { products: all } = await products();
    const product = all['lxchunk:views/nightly:amd64']!;
    const versions = Object.keys(product.versions).sort();
    const items = product.versions[versions.at(-1)!]!.items;
    const deltas = Object.values(items).filter((item) => item.ftype === 'squashfs.vcdiff');
    assert.deepEqual(deltas.map((d) => d.delta_base).sort(), versions.slice(0, 3));
    // Made on the first listing that wanted them (the one before this), once each.
    assert.equal(await metric(server, 'lxchunk_simplestreams_deltas_made_total', { outcome: 'listed' }), 3);
    // Older builds carry none: LXD asks for the alias's newest.
    assert.ok(!Object.values(product.versions[versions[2]!]!.items).some((item) => item.ftype === 'squashfs.vcdiff'));

    const newest = builds.at(-1)!;
    const previous = builds.at(-2)!;
    const fromPrevious = deltas.find((d) => d.delta_base === versions.at(-2))!;
    const served = await metric(server, 'lxchunk_simplestreams_deltas_served_total');
    const delta = await http(server.url, 'GET', `/${fromPrevious.path}`);
    assert.equal(delta.status, 200);
    assert.equal(sha256(delta.body), fromPrevious.sha256);
    assert.match(delta.headers.get('cache-control')!, /^public/, 'both ends public: a shared cache may keep it');
    assert.ok(delta.body.length < (await readFile(newest.rootfs)).length / 2, `a nightly's delta (${delta.body.length} bytes) is a fraction of the squashfs`);
    const deltaPath = join(work, 'delta.vcdiff');
    const out = join(work, 'patched.squashfs');
    await writeFile(deltaPath, delta.body);
    // As LXD applies it (client/simplestreams_images.go).
    await run('xdelta3', ['-f', '-d', '-s', previous.rootfs, deltaPath, out]);
    assert.ok((await readFile(out)).equals(await readFile(newest.rootfs)));
    assert.equal(await metric(server, 'lxchunk_simplestreams_deltas_served_total'), served + 1);
    assert.ok((await metric(server, 'lxchunk_bytes_served_total', { protocol: 'simplestreams' })) > delta.body.length);
    assert.ok((await metric(server, 'lxchunk_bytes_served_total', { protocol: 'lxd' })) > 0);
  });

  it('deltas survive a restart (listed at once, not made again); one damaged on disk is dropped and made again', async () => {
    const dataDir = server.dataDir;
    assert.equal(await server.stop(), 0);
    const deltaDir = join(dataDir, 'simplestreams-deltas');
    const files = (await readdir(deltaDir)).filter((name) => name.endsWith('.vcdiff'));
    assert.equal(files.length, 3);
    // A crash mid-make leaves a temp file; a bit flip damages a kept delta.
    await writeFile(join(deltaDir, '.tmp-1-1'), 'half');
    const damaged = join(deltaDir, files[0]!);
    const bytes = await readFile(damaged);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
    await writeFile(damaged, bytes);
    server = await startServer(['--no-fsync'], dataDir);
    assert.ok(!(await readdir(deltaDir)).includes('.tmp-1-1'));
    const listed = Object.values((await products()).products['lxchunk:views/nightly:amd64']!.versions).flatMap((v) => Object.values(v.items)).filter((i) => i.ftype === 'squashfs.vcdiff');
    assert.equal(listed.length, 3);
    assert.equal(await metric(server, 'lxchunk_simplestreams_deltas_made_total', { outcome: 'listed' }), 0, 'nothing made again');
    const bad = listed.find((item) => item.path.endsWith(`delta-${files[0]!.slice(0, 64)}.vcdiff`))!;
    // Its bytes no longer match: the answer is cut short rather than completed.
    await assert.rejects(fetch(`${server.url}/${bad.path}`).then((r) => r.arrayBuffer()));
    const again = Object.values((await products()).products['lxchunk:views/nightly:amd64']!.versions).flatMap((v) => Object.values(v.items)).find((i) => i.path === bad.path)!;
    assert.equal(await metric(server, 'lxchunk_simplestreams_deltas_made_total', { outcome: 'listed' }), 1, 'the damaged one was made again');
    const fresh = await http(server.url, 'GET', `/${again.path}`);
    assert.equal(sha256(fresh.body), again.sha256);
  });

  it('once simplestreams is in use, an alias move makes the new build\'s deltas before any listing asks (listings that do not wait still get them)', async () => {
    const dataDir = server.dataDir;
    assert.equal(await server.stop(), 0);
    server = await startServer(['--no-fsync', '--simplestreams-delta-wait', '0s'], dataDir);
    pushEnv = { ...pushEnv, LXCHUNK_SERVER: server.url };
    await products(); // simplestreams is in use from now on
    const next = await buildLxdImage(join(work, 'v5'), { seed: 90, serial: '5', from: builds.at(-1)!, change: 8 });
    await push(next, 'views/nightly', '--public');
    await server.waitForStderr(new RegExp(`"target":"${next.fingerprint}"[^\\n]*simplestreams delta made|simplestreams delta made[^\\n]*"target":"${next.fingerprint}"`));
    const product = (await products()).products['lxchunk:views/nightly:amd64']!;
    const newest = Object.keys(product.versions).sort().at(-1)!;
    assert.equal(product.versions[newest]!.items['lxd.tar.xz']!.combined_squashfs_sha256, next.fingerprint);
    const deltas = Object.values(product.versions[newest]!.items).filter((item) => item.ftype === 'squashfs.vcdiff');
    // The log line comes once the delta is recorded; the others are made one after another.
    assert.ok(deltas.length >= 1, 'made by the warm-up, listed without waiting');
    assert.ok(deltas.every((d) => d.path.includes(next.fingerprint)));
  });
});
