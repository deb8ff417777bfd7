import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdir, mkdtemp, open, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '@lxchunk/errors';
import { mapSquashfs, type SquashfsMap } from '../src/index.js';
import { DISTROBUILDER, mksquashfs, writeTree } from './fixtures.js';
import { Reassembler } from './reassemble.js';

async function rejectsInvalid(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

describe('mapSquashfs refusals and limits', function () {
  let dir: string;
  let tree: string;
  let image: string;
  let map: SquashfsMap;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-squashfs-err-'));
    tree = join(dir, 'tree');
    await writeTree(tree, 3);
    image = join(dir, 'image.squashfs');
    await mksquashfs(tree, image, DISTROBUILDER);
    map = await mapSquashfs(image);
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes file system errors through as they are', async function () {
    await assert.rejects(mapSquashfs(join(dir, 'missing.squashfs')), { code: 'ENOENT' });
  });

  it('refuses what is not a regular file', async function () {
    await rejectsInvalid(mapSquashfs(dir), /not a regular file/);
  });

  it('refuses an empty or tiny file', async function () {
    const empty = join(dir, 'empty.squashfs');
    await writeFile(empty, '');
    await rejectsInvalid(mapSquashfs(empty), /fewer than a superblock/);
    await writeFile(empty, 'hsqs');
    await rejectsInvalid(mapSquashfs(empty), /fewer than a superblock/);
  });

  it('refuses a file that is not squashfs', async function () {
    const text = join(dir, 'text.squashfs');
    await writeFile(text, 'x'.repeat(4096));
    await rejectsInvalid(mapSquashfs(text), /bad magic/);
  });

  it('refuses an image cut short, and maps one without its padding', async function () {
    const cut = join(dir, 'cut.squashfs');
    await copyFile(image, cut);
    await truncate(cut, map.superblock.bytesUsed - 1);
    await rejectsInvalid(mapSquashfs(cut), /truncated/);
    await truncate(cut, map.superblock.bytesUsed);
    const unpadded = await mapSquashfs(cut);
    assert.deepEqual(unpadded.ranges, map.ranges.filter((r) => r.kind !== 'padding'));
    assert.deepEqual(unpadded.files, map.files);
  });

  it('reports bytes appended after the image as padding', async function () {
    const longer = join(dir, 'longer.squashfs');
    await copyFile(image, longer);
    await appendFile(longer, new Uint8Array(10_000).fill(7));
    const appended = await mapSquashfs(longer);
    assert.deepEqual(appended.ranges.at(-1), { offset: map.superblock.bytesUsed, length: appended.fileSize - map.superblock.bytesUsed, kind: 'padding' });
  });

  it('enforces the entry, block and depth limits', async function () {
    await rejectsInvalid(mapSquashfs(image, { maxEntries: 10 }), /more than 10 directory entries/);
    await rejectsInvalid(mapSquashfs(image, { maxBlocks: 2 }), /more than 2 data blocks/);
    await rejectsInvalid(mapSquashfs(image, { maxDepth: 3 }), /deeper than 3/);
    const deep = await mapSquashfs(image, { maxDepth: 9, maxEntries: 400, maxBlocks: 20 });
    assert.equal(deep.files.length, map.files.length);
  });

  it('refuses lzo-compressed metadata but maps lzo images whose metadata is stored uncompressed', async function () {
    const lzo = join(dir, 'lzo.squashfs');
    await mksquashfs(tree, lzo, ['-comp', 'lzo']);
    await rejectsInvalid(mapSquashfs(lzo), /compressed with lzo are not supported/);
    await mksquashfs(tree, lzo, ['-comp', 'lzo', '-noI', '-noD', '-noF', '-noX']);
    const plain = await mapSquashfs(lzo);
    const handle = await open(lzo, 'r');
    try {
      const reassembler = new Reassembler(handle, plain);
      for (const file of plain.files) {
        assert.ok(Buffer.from(await reassembler.file(file)).equals(await readFile(join(tree, file.path))), file.path);
      }
    } finally {
      await handle.close();
    }
  });

  it('detects a directory that contains its own ancestor', async function () {
    // Uncompressed metadata, so the entry for "loop" can be found and pointed at the root inode.
    const small = join(dir, 'cycle-tree');
    await mkdir(join(small, 'outer', 'loop'), { recursive: true });
    await writeFile(join(small, 'outer', 'file'), 'x');
    const cyclic = join(dir, 'cycle.squashfs');
    await mksquashfs(small, cyclic, ['-comp', 'gzip', '-noI', '-noD', '-noF', '-noX', '-no-xattrs']);
    const bytes = new Uint8Array(await readFile(cyclic));
    const sb = (await mapSquashfs(cyclic)).superblock;
    // The directory table is one stored metadata block (header 0x8000 | length); its listings are
    // runs of header (count - 1, inode block, base inode number) + entries (inode offset, inode
    // number delta, type, name length - 1, name), back to back, so it parses from the start.
    const view = new DataView(bytes.buffer);
    const header = view.getUint16(sb.directoryTableStart, true);
    assert.equal(header & 0x8000, 0x8000, 'the directory table is stored uncompressed');
    let at = sb.directoryTableStart + 2;
    const end = at + (header & 0x7fff);
    let patched = false;
    while (at < end && !patched) {
      const count = view.getUint32(at, true) + 1;
      const inodeBlock = view.getUint32(at + 4, true);
      const base = view.getUint32(at + 8, true);
      at += 12;
      for (let i = 0; i < count; i++) {
        const nameLength = view.getUint16(at + 6, true) + 1;
        if (Buffer.from(bytes.subarray(at + 8, at + 8 + nameLength)).toString() === 'loop') {
          // Point "loop" at the root inode: same metadata block 0, the root's offset and number
          // (mksquashfs numbers the root last, so it is the inode count).
          assert.equal(inodeBlock, Number(sb.rootInode >> 16n), 'the root inode is in the block this run points at');
          view.setUint16(at, Number(sb.rootInode & 0xffffn), true);
          view.setInt16(at + 2, sb.inodeCount - base, true);
          patched = true;
        }
        at += 8 + nameLength;
      }
    }
    assert.ok(patched, 'found the entry "loop"');
    const broken = join(dir, 'cycle-broken.squashfs');
    await writeFile(broken, bytes);
    await rejectsInvalid(mapSquashfs(broken), /reached twice \(a cycle\)/);
  });
});
