import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PullJson, PushJson } from './helpers/cli-json.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { buildUnifiedImage } from './helpers/unified-image.js';

describe('what chunk push takes: VM disks checked, unified tarballs (real CLI, real server)', () => {
  let work: string;
  let server: ServerProcess;
  let split: LxdImageFiles;
  let pushEnv: NodeJS.ProcessEnv;
  let readEnv: NodeJS.ProcessEnv;

  const push = (...args: string[]) => runChunk(['push', '--json', '--no-content', ...args], { env: pushEnv });
  const pull = async (ref: string, out: string) => {
    const result = await runChunk(['pull', '--json', ref, '--out', out], { env: readEnv });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PullJson;
  };
  const sameBytes = async (a: string, b: string) => assert.ok((await readFile(a)).equals(await readFile(b)), `${a} differs from ${b}`);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-kinds-'));
    server = await startServer(['--no-fsync']);
    pushEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    readEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('read') };
    split = await buildLxdImage(join(work, 'split'), { seed: 5, serial: '1' });
  });
  after(async () => {
    await server.destroy();
    await rm(work, { recursive: true, force: true });
  });

  it('refuses a text file as a VM disk: exit 2, INVALID_DISK_IMAGE naming the file and what was expected', async () => {
    const notes = join(work, 'notes.txt');
    await writeFile(notes, 'remember: rebuild the image on Friday\n'.repeat(100));
    const result = await push(split.metadata, notes);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string } };
    assert.equal(error.code, 'INVALID_DISK_IMAGE');
    assert.ok(error.message.startsWith(`${notes}: not a VM disk image`), error.message);
    assert.match(error.message, /expected a qcow2 .* or a raw disk with an MBR or GPT partition table/);
  });

  it('takes a qcow2 disk and a raw disk with a partition table as virtual-machine images, pulled back byte for byte', async () => {
    // qemu-img is not installed here: a qcow2 v3 header as the spec lays it out (magic, version,
    // no backing file, 64 KiB clusters, 16 MiB virtual size), as qemu-img create writes it.
    const qcow2 = Buffer.alloc(196_608);
    qcow2.write('QFI\xfb', 0, 'latin1');
    qcow2.writeUInt32BE(3, 4);
    qcow2.writeUInt32BE(16, 20); // cluster_bits
    qcow2.writeBigUInt64BE(16n * 1024n * 1024n, 24);
    qcow2.writeUInt32BE(104, 100); // header_length
    const raw = Buffer.alloc(1024 * 1024);
    raw.set([0x55, 0xaa], 510); // a DOS partition table's boot signature
    raw.write('EFI PART', 512, 'latin1'); // and the GPT header it protects
    for (const [name, bytes] of [['disk.qcow2', qcow2], ['disk.img', raw]] as const) {
      const disk = join(work, name);
      await writeFile(disk, bytes);
      const result = await push(split.metadata, disk);
      assert.equal(result.code, 0, result.stderr);
      const pushed = JSON.parse(result.stdout) as PushJson;
      assert.equal(pushed.type, 'virtual-machine');
      const out = join(work, `pull-${name}`);
      const pulled = await pull(pushed.fingerprint, out);
      assert.deepEqual(pulled.files.map((f) => f.role), ['metadata', 'rootfs.img']);
      await sameBytes(join(out, `${pushed.fingerprint}.rootfs`), disk);
    }
  });

  for (const compress of ['-z', '-J', ''] as const) {
    it(`pushes a unified tarball (tar ${compress || 'uncompressed'}) alone; its fingerprint is its sha256, and pull gives it back as <fp>`, async () => {
      const image = await buildUnifiedImage(join(work, `unified${compress}`), { seed: 9, serial: '1', compress });
      const result = await push('--alias', 'unified/test', image.tarball);
      assert.equal(result.code, 0, result.stderr);
      const pushed = JSON.parse(result.stdout) as PushJson;
      assert.equal(pushed.fingerprint, image.fingerprint);
      assert.equal(pushed.type, 'container');
      if (compress) assert.match(result.stderr, /warning: the unified tarball is (gzip|xz)-compressed: .* updates dedup badly/);
      else assert.doesNotMatch(result.stderr, /warning/);
      const out = join(work, `pull-unified${compress}`);
      const pulled = await pull('unified/test', out);
      assert.equal(pulled.fingerprint, image.fingerprint);
      assert.deepEqual(pulled.files.map((f) => [f.role, f.path]), [['unified', join(out, image.fingerprint)]]);
      await sameBytes(join(out, image.fingerprint), image.tarball);
      assert.deepEqual(await readdir(out), [image.fingerprint]);
    });
  }

  it('refuses a unified tarball given with a rootfs, and a split metadata tarball given alone', async () => {
    const image = await buildUnifiedImage(join(work, 'unified-extra'), { seed: 9, serial: '2' });
    const both = await push(image.tarball, split.rootfs);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /is a unified image \(it holds rootfs\/\); push it alone/);
    const alone = await push(split.metadata);
    assert.equal(alone.code, 2, alone.stderr);
    assert.match(alone.stderr, /holds no rootfs\/: a split image's metadata; give its rootfs too/);
  });
});
