import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapSquashfs, squashfsSegments } from '@lxchunk/squashfs';
import { chunkImageFile } from '@lxchunk/sync';
import { blake3 } from '@napi-rs/blake-hash';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

/** Each segment of a squashfs (block, metadata block, table) with its offset and content hash. */
async function segmentsOf(path: string): Promise<Array<{ offset: number; length: number; hash: string }>> {
  const bytes = await readFile(path);
  let offset = 0;
  return squashfsSegments(await mapSquashfs(path)).map((length) => {
    const segment = { offset, length, hash: blake3(bytes.subarray(offset, offset + length)).toString('hex') };
    offset += length;
    return segment;
  });
}

describe('squashfs-aware chunking (real mksquashfs images)', () => {
  let work: string;
  let v1: LxdImageFiles;
  let v2: LxdImageFiles;
  let stock: LxdImageFiles;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-sqfs-chunking-'));
    v1 = await buildLxdImage(join(work, 'v1'), { seed: 21, serial: '1' });
    v2 = await buildLxdImage(join(work, 'v2'), { seed: 21, from: v1, serial: '2', change: 5 });
    stock = await buildLxdImage(join(work, 'stock'), { seed: 21, serial: '1', stock: true });
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it('cuts only on segment boundaries or inside large segments, and is deterministic', async () => {
    const first = await chunkImageFile(v1.rootfs, { method: 'squashfs' });
    const again = await chunkImageFile(v1.rootfs, { method: 'squashfs' });
    assert.equal(first.method, 'squashfs');
    assert.deepEqual(again.chunks, first.chunks);
    const segments = await segmentsOf(v1.rootfs);
    const starts = new Set(segments.map((s) => s.offset));
    let offset = 0;
    for (const chunk of first.chunks) {
      const inside = segments.find((s) => s.offset < offset && offset < s.offset + s.length);
      assert.ok(starts.has(offset) || (inside && inside.length >= first.params.min), `a cut at ${offset} splits a small segment`);
      offset += chunk.length;
    }
    assert.equal(offset, first.size);
  });

  it('a changed file costs only chunks that hold changed bytes', async () => {
    const old = await chunkImageFile(v1.rootfs, { method: 'squashfs' });
    const next = await chunkImageFile(v2.rootfs, { method: 'squashfs' });
    const oldIds = new Set(old.chunks.map((c) => c.id));
    const oldSegments = new Set((await segmentsOf(v1.rootfs)).map((s) => s.hash));
    const newSegments = await segmentsOf(v2.rootfs);
    let offset = 0;
    let fetched = 0;
    for (const chunk of next.chunks) {
      const end = offset + chunk.length;
      if (!oldIds.has(chunk.id)) {
        fetched += chunk.length;
        const overlapping = newSegments.filter((s) => s.offset < end && offset < s.offset + s.length);
        assert.ok(
          overlapping.some((s) => !oldSegments.has(s.hash)),
          `chunk at ${offset} (${chunk.length} bytes) is new although every segment in it is in the old image`,
        );
      }
      offset = end;
    }
    assert.ok(fetched > 0 && fetched < next.size / 4, `fetched ${fetched} of ${next.size}`);
  });

  it('inspect reports the method; a file that is not a squashfs keeps plain CDC', async () => {
    const squashfs = await runChunk(['inspect', '--json', v1.rootfs]);
    assert.equal(squashfs.code, 0, squashfs.stderr);
    assert.equal((JSON.parse(squashfs.stdout) as { method: string }).method, 'squashfs');
    const tarball = await runChunk(['inspect', '--json', v1.metadata]);
    assert.equal((JSON.parse(tarball.stdout) as { method: string }).method, 'cdc');
    const forced = await runChunk(['inspect', '--json', '--chunking', 'squashfs', v1.metadata]);
    assert.equal(forced.code, 2, forced.stdout);
    assert.match(forced.stderr, /INVALID_INPUT/);
    const bad = await runChunk(['inspect', '--chunking', 'rsync', v1.rootfs]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Allowed choices are squashfs, cdc/);
  });

  describe('with a real server', () => {
    let server: ServerProcess;
    let env: NodeJS.ProcessEnv;
    before(async () => {
      server = await startServer(['--no-fsync']);
      env = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    });
    after(async () => server.destroy());

    it('push warns about a rootfs built with fragments, and not about one built without', async () => {
      const warned = await runChunk(['push', '--json', '--no-content', stock.metadata, stock.rootfs], { env });
      assert.equal(warned.code, 0, warned.stderr);
      assert.match(warned.stderr, /warning: the rootfs packs small files into \d+ shared fragment blocks.*-no-fragments/);
      assert.equal((JSON.parse(warned.stdout) as { warnings: string[] }).warnings.length, 1);
      const clean = await runChunk(['push', '--json', '--no-content', v1.metadata, v1.rootfs], { env });
      assert.equal(clean.code, 0, clean.stderr);
      assert.doesNotMatch(clean.stderr, /warning/);
      assert.deepEqual((JSON.parse(clean.stdout) as { warnings: string[] }).warnings, []);
    });

    it('the pushed index records the method, and a pull skips a seed that cannot be cut that way', async () => {
      const manifest = await fetch(`${server.url}/v1/images/${v1.fingerprint}`, { headers: { authorization: `Bearer ${env['LXCHUNK_TOKEN']}` } });
      assert.equal(manifest.status, 200);
      const text = await manifest.text();
      const rootfs = (JSON.parse(text) as { files: Array<{ role: string; index: string }> }).files.find((f) => f.role === 'rootfs')!;
      const { decodeIndex } = await import('@lxchunk/format');
      assert.equal(decodeIndex(Buffer.from(rootfs.index, 'base64')).method, 'squashfs');

      const notSquashfs = join(work, 'not-a-squashfs.bin');
      await writeFile(notSquashfs, Buffer.alloc(300_000, 7));
      const out = join(work, 'pulled');
      const pulled = await runChunk(['pull', '--json', v1.fingerprint, '--out', out, '--seed', notSquashfs, '--seed', stock.rootfs], { env });
      assert.equal(pulled.code, 0, pulled.stderr);
      assert.ok((await readFile(join(out, `${v1.fingerprint}.rootfs`))).equals(await readFile(v1.rootfs)));
    });
  });
});
