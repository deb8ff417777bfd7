import { InvalidDiskImageError } from '@lxchunk/errors';

export type DiskFormat = 'qcow2' | 'raw';

const SECTOR = 512;
/** The GPT header sits at LBA 1: byte 512 on 512-byte-sector disks, 4096 on 4Kn ones. */
const GPT_OFFSETS = [512, 4096] as const;
/** Bytes checkDiskImage needs from the file's start (fewer is fine for a shorter file). */
export const DISK_HEAD_BYTES = 4096 + 8;

const QCOW2_MAGIC = [0x51, 0x46, 0x49, 0xfb]; // "QFI\xfb"
const GPT_SIGNATURE = [0x45, 0x46, 0x49, 0x20, 0x50, 0x41, 0x52, 0x54]; // "EFI PART"

/**
 * Tells whether a file can be a VM's disk, from its first bytes and its size. LXD takes any file
 * as rootfs.img and the VM only fails at boot, so lxchunk asks for evidence of a disk:
 * - qcow2: magic "QFI\xfb" and version 2 or 3 (big-endian u32 at 4), as qemu reads them;
 * - raw: a partition table (MBR boot signature 0x55AA at 510, or a GPT header "EFI PART" at
 *   LBA 1) and a whole number of 512-byte sectors.
 * Anything else throws InvalidDiskImageError naming the file and what was found.
 */
export function checkDiskImage(path: string, head: Uint8Array, size: number): DiskFormat {
  if (matchesAt(head, 0, QCOW2_MAGIC)) {
    const version = head.length >= 8 ? new DataView(head.buffer, head.byteOffset, 8).getUint32(4) : undefined;
    if (version !== 2 && version !== 3) throw new InvalidDiskImageError(path, `qcow2 version ${version ?? 'missing (file too short)'}`);
    return 'qcow2';
  }
  const mbr = head.length >= SECTOR && head[510] === 0x55 && head[511] === 0xaa;
  const gpt = GPT_OFFSETS.some((offset) => matchesAt(head, offset, GPT_SIGNATURE));
  if (!mbr && !gpt) throw new InvalidDiskImageError(path, 'no qcow2 header, no MBR boot signature, no GPT header');
  if (size % SECTOR !== 0) throw new InvalidDiskImageError(path, `a partition table, but ${size} bytes is not a whole number of 512-byte sectors`);
  return 'raw';
}

function matchesAt(bytes: Uint8Array, offset: number, magic: readonly number[]): boolean {
  return bytes.length >= offset + magic.length && magic.every((b, i) => bytes[offset + i] === b);
}
