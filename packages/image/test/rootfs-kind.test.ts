import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { InvalidDiskImageError, InvalidInputError, isLxchunkError } from '@lxchunk/errors';
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

  it('a raw disk with an MBR (made by sfdisk where installed) or a GPT header', async function () {
    const mbrDisk = s.path('mbr.img');
    if (hasCommand('sfdisk')) {
      await writeFile(mbrDisk, new Uint8Array(4 * 1024 * 1024));
      execFileSync('sfdisk', ['--quiet', mbrDisk], { input: 'label: dos\n,,L\n', stdio: ['pipe', 'ignore', 'pipe'] });
    } else {
      // sfdisk is not installed here: the boot signature a DOS partition table ends with.
      const mbr = new Uint8Array(4096);
      mbr.set([0x55, 0xaa], 510);
      await writeFile(mbrDisk, mbr);
    }
    assert.equal(await detectRootfsKind(mbrDisk), 'raw');
    for (const lba1 of [512, 4096]) {
      // GPT alone, no protective MBR: LBA 1 of a 512-byte or a 4Kn disk.
      const gpt = new Uint8Array(64 * 1024);
      gpt.set(new TextEncoder().encode('EFI PART'), lba1);
      assert.equal(await detectRootfsKind(await s.file(`gpt-${lba1}.img`, gpt)), 'raw');
    }
  });

  it('refuses a file that is no VM disk with INVALID_DISK_IMAGE, naming it', async function () {
    const rejectsDisk = async (file: string, problem: RegExp) =>
      assert.rejects(detectRootfsKind(file), (err: unknown) => {
        assert.ok(isLxchunkError(err, 'INVALID_DISK_IMAGE'), String(err));
        assert.ok(err instanceof InvalidDiskImageError);
        assert.ok(err.message.startsWith(`${file}: not a VM disk image`), err.message);
        assert.match(err.message, /expected a qcow2 \(version 2 or 3\) or a raw disk with an MBR or GPT partition table/);
        assert.match(err.message, problem);
        return true;
      });
    await rejectsDisk(await s.file('notes.txt', 'remember to rebuild the image on Friday\n'.repeat(40)), /no MBR boot signature, no GPT header/);
    await rejectsDisk(await s.file('zeros.img', new Uint8Array(1)), /no qcow2 header/);
    const odd = new Uint8Array(1000);
    odd.set([0x55, 0xaa], 510);
    await rejectsDisk(await s.file('odd.img', odd), /1000 bytes is not a whole number of 512-byte sectors/);
    const qcow1 = new Uint8Array(512);
    qcow1.set([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 1]);
    await rejectsDisk(await s.file('old.qcow', qcow1), /qcow2 version 1/);
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
