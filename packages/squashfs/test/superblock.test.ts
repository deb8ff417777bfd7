import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError } from '@lxchunk/errors';
import { parseSuperblock } from '../src/index.js';
import { DISTROBUILDER, mksquashfs, writeTree } from './fixtures.js';

const ALL_ONES = 0xffff_ffff_ffff_ffffn;

describe('parseSuperblock', function () {
  let dir: string;
  let original: Uint8Array;
  let exportable: Uint8Array;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-squashfs-sb-'));
    const tree = join(dir, 'tree');
    await writeTree(tree, 7);
    await mksquashfs(tree, join(dir, 'xz.squashfs'), DISTROBUILDER);
    await mksquashfs(tree, join(dir, 'gzip.squashfs'), ['-comp', 'gzip', '-b', '4096']);
    original = new Uint8Array(await readFile(join(dir, 'xz.squashfs'))).slice(0, 96);
    exportable = new Uint8Array(await readFile(join(dir, 'gzip.squashfs'))).slice(0, 96);
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  /** A copy of the superblock with one edit made through a DataView. */
  function edited(edit: (view: DataView) => void, from = original): Uint8Array {
    const bytes = from.slice();
    edit(new DataView(bytes.buffer));
    return bytes;
  }

  function rejects(bytes: Uint8Array, message: RegExp): void {
    assert.throws(
      () => parseSuperblock(bytes),
      (err: unknown) => err instanceof InvalidInputError && message.test(err.message),
    );
  }

  it('reads the fields of distrobuilder-style and exportable images', function () {
    const sb = parseSuperblock(original);
    assert.equal(sb.compression, 'xz');
    assert.equal(sb.blockSize, 1 << 20);
    assert.equal(sb.blockLog, 20);
    assert.equal(sb.exportTableStart, null);
    assert.equal(sb.noFragments, false);
    assert.ok(sb.inodeTableStart < sb.directoryTableStart);
    assert.ok(sb.idTableStart < sb.bytesUsed);
    assert.equal(typeof sb.rootInode, 'bigint');
    const gz = parseSuperblock(exportable);
    assert.equal(gz.compression, 'gzip');
    assert.equal(gz.blockSize, 4096);
    assert.ok(gz.exportTableStart !== null && gz.exportTableStart > gz.fragmentTableStart!);
  });

  it('reads only the first 96 bytes of a longer buffer', function () {
    const longer = new Uint8Array(4096);
    longer.set(original);
    assert.deepEqual(parseSuperblock(longer), parseSuperblock(original));
  });

  it('refuses a short buffer', function () {
    rejects(original.subarray(0, 95), /needs 96 bytes/);
    rejects(new Uint8Array(0), /needs 96 bytes/);
  });

  it('refuses a wrong magic or version', function () {
    rejects(edited((v) => v.setUint32(0, 0x68737173, true)), /bad magic/);
    rejects(edited((v) => v.setUint16(28, 3, true)), /version 3\.0/);
    rejects(edited((v) => v.setUint16(30, 1, true)), /version 4\.1/);
  });

  it('refuses an unknown compression', function () {
    rejects(edited((v) => v.setUint16(20, 0, true)), /compression id 0/);
    rejects(edited((v) => v.setUint16(20, 7, true)), /compression id 7/);
  });

  it('refuses block sizes the kernel would not mount', function () {
    rejects(edited((v) => v.setUint32(12, 2048, true)), /block size 2048/);
    rejects(edited((v) => v.setUint32(12, 2 << 20, true)), /block size 2097152/);
    rejects(edited((v) => v.setUint32(12, 100_000, true)), /block size 100000/);
    rejects(edited((v) => v.setUint16(22, 19, true)), /block_log 19 does not match/);
  });

  it('refuses zero inodes or ids', function () {
    rejects(edited((v) => v.setUint32(4, 0, true)), /inode count is 0/);
    rejects(edited((v) => v.setUint16(26, 0, true)), /id count is 0/);
  });

  it('refuses an impossible root inode reference', function () {
    rejects(edited((v) => v.setBigUint64(32, 1n << 48n, true)), /root inode reference/);
    rejects(edited((v) => v.setBigUint64(32, 8192n, true)), /root inode reference/);
    rejects(edited((v) => v.setBigUint64(32, 0xffff_ffffn << 16n, true)), /root inode's block/);
  });

  it('refuses a bytes_used below the superblock or beyond any file', function () {
    rejects(edited((v) => v.setBigUint64(40, 95n, true)), /bytes_used 95/);
    rejects(edited((v) => v.setBigUint64(40, 1n << 60n, true)), /bytes_used is \d+, beyond/);
  });

  it('refuses missing mandatory tables', function () {
    rejects(edited((v) => v.setBigUint64(48, ALL_ONES, true)), /id table is missing/);
    rejects(edited((v) => v.setBigUint64(64, ALL_ONES, true)), /inode table is missing/);
    rejects(edited((v) => v.setBigUint64(72, ALL_ONES, true)), /directory table is missing/);
    rejects(edited((v) => v.setBigUint64(80, ALL_ONES, true)), /declares \d+ fragments but no fragment table/);
  });

  it('refuses tables out of order or past bytes_used', function () {
    const sb = parseSuperblock(exportable);
    rejects(edited((v) => v.setBigUint64(64, 10n, true), exportable), /inside the superblock/);
    rejects(edited((v) => v.setBigUint64(72, BigInt(sb.inodeTableStart), true), exportable), /directory table .* does not start after/);
    rejects(edited((v) => v.setBigUint64(80, BigInt(sb.directoryTableStart - 1), true), exportable), /fragment table .* starts before the directory table/);
    rejects(edited((v) => v.setBigUint64(88, BigInt(sb.fragmentTableStart!), true), exportable), /export table .* starts before the fragment table ends/);
    rejects(edited((v) => v.setBigUint64(48, BigInt(sb.exportTableStart! + 4), true), exportable), /id table .* starts before the export table ends/);
    rejects(edited((v) => v.setBigUint64(40, BigInt(sb.idTableStart + 4), true), exportable), /id table ends at \d+, beyond bytes_used/);
    rejects(edited((v) => v.setBigUint64(56, BigInt(sb.bytesUsed - 8), true), exportable), /xattr id table ends at \d+, beyond bytes_used/);
    // A fragment count whose index cannot fit before the next table.
    rejects(edited((v) => v.setUint32(16, 0xffff_ffff, true), exportable), /export table .* starts before the fragment table ends/);
  });
});
