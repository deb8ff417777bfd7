import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { InvalidInputError } from '@lxchunk/errors';
import { detectRootfsKind, fileRoleFor, imageTypeFor } from '../src/index.js';
import { Scratch, hasCommand } from './fixtures.js';

describe('detectRootfsKind', function () {
  let s: Scratch;
  before(async function () {
    s = await Scratch.create();
  });
  after(async function () {
    await s.remove();
  });

  async function rejectsInvalid(promise: Promise<unknown>, problem: RegExp): Promise<void> {
    await assert.rejects(promise, (err: unknown) => {
      assert.ok(err instanceof InvalidInputError, String(err));
      assert.match(err.message, problem);
      return true;
    });
  }

  it("a squashfs made by mksquashfs with distrobuilder's options", async function () {
    const dir = await s.tree('rootfs', { 'etc/os-release': 'ID=debian\n', 'usr/bin/tool': randomBytes(4096) });
    const file = s.path('rootfs.squashfs');
    const opts = ['-noappend', '-b', '1M', '-no-exports', '-no-progress', '-no-recovery', '-comp', 'xz', '-quiet'];
    execFileSync('mksquashfs', [dir, file, ...opts], { stdio: 'ignore' });
    assert.equal(await detectRootfsKind(file), 'squashfs');
  });

  it('a qcow2 disk', async function () {
    const file = s.path('disk.qcow2');
    if (hasCommand('qemu-img')) {
      execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '16M'], { stdio: 'ignore' });
    } else {
      // qemu-img is not installed here: a file that starts like a qcow2 v3 header.
      const header = new Uint8Array(512);
      header.set([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]);
      await writeFile(file, header);
    }
    assert.equal(await detectRootfsKind(file), 'qcow2');
  });

  it('anything else is a raw disk', async function () {
    const mbr = new Uint8Array(4096);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    assert.equal(await detectRootfsKind(await s.file('disk.img', mbr)), 'raw');
    assert.equal(await detectRootfsKind(await s.file('zeros.img', new Uint8Array(1))), 'raw');
  });

  it('refuses what would be mistaken for a raw disk', async function () {
    await rejectsInvalid(detectRootfsKind(await s.file('empty.img', '')), /is empty/);
    const dir = await s.tree('tarred', { 'etc/hostname': 'x\n' });
    await rejectsInvalid(detectRootfsKind(s.tar('rootfs.tar', dir, ['etc'])), /rootfs is a tar archive/);
    await rejectsInvalid(detectRootfsKind(s.tar('rootfs.tar.xz', dir, ['etc'], ['-J'])), /rootfs is xz-compressed/);
    const v3 = new Uint8Array(96);
    v3.set([0x68, 0x73, 0x71, 0x73]);
    v3[28] = 3;
    await rejectsInvalid(detectRootfsKind(await s.file('old.squashfs', v3)), /squashfs version 3 is not supported/);
    await rejectsInvalid(detectRootfsKind(s.path('missing.img')), /no such file/);
    await rejectsInvalid(detectRootfsKind(s.dir), /not a regular file/);
  });

  it('maps kinds to LXD image types and file roles', function () {
    assert.equal(imageTypeFor('squashfs'), 'container');
    assert.equal(imageTypeFor('qcow2'), 'virtual-machine');
    assert.equal(imageTypeFor('raw'), 'virtual-machine');
    assert.equal(fileRoleFor('squashfs'), 'rootfs');
    assert.equal(fileRoleFor('qcow2'), 'rootfs.img');
    assert.equal(fileRoleFor('raw'), 'rootfs.img');
  });
});
