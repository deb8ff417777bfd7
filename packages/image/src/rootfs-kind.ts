import { stat } from 'node:fs/promises';
import { InvalidInputError } from '@lxchunk/errors';
import type { FileRole, ImageType } from '@lxchunk/format';
import { COMPRESSION_MAGIC_BYTES, detectCompression } from './compression.js';
import { DISK_HEAD_BYTES, checkDiskImage } from './disk-image.js';
import { ioError, readHead } from './read-head.js';

/** What an image's second file holds: a container's squashfs, or a VM disk (qcow2 or raw). */
export type RootfsKind = 'squashfs' | 'qcow2' | 'raw';
/** The manifest's role of an image's second file. */
export type RootfsRole = Exclude<FileRole, 'metadata'>;

/** Enough for a GPT header at LBA 1 of a 4Kn disk; the tar magic (257) and the others come before. */
const HEAD_BYTES = DISK_HEAD_BYTES;

/**
 * Tells a rootfs file's kind by magic number, never by its name:
 * - squashfs 4.0: "hsqs" (0x73717368 little-endian) at 0, major version 4 at offset 28;
 * - a VM disk: a qcow2 or a raw disk with a partition table (see checkDiskImage).
 * Refuses what LXD would take but lxchunk does not handle, instead of mistaking it for a raw VM
 * disk: older squashfs, tarball (or compressed) rootfs files, an empty file (INVALID_INPUT), and
 * any other file (INVALID_DISK_IMAGE: a text file is no VM).
 */
export async function detectRootfsKind(path: string): Promise<RootfsKind> {
  const head = await readHead(path, HEAD_BYTES);
  if (head.length === 0) throw new InvalidInputError(`${path}: rootfs file is empty`);
  if (startsWith(head, [0x68, 0x73, 0x71, 0x73])) {
    const major = head.length >= 30 ? (head[28] ?? 0) | ((head[29] ?? 0) << 8) : undefined;
    if (major !== 4) {
      throw new InvalidInputError(`${path}: squashfs version ${major ?? 'unknown (file too short)'} is not supported, only 4.0`);
    }
    return 'squashfs';
  }
  const compression = detectCompression(head.subarray(0, COMPRESSION_MAGIC_BYTES));
  if (compression !== 'none') {
    throw new InvalidInputError(
      `${path}: rootfs is ${compression}-compressed (a tarball rootfs?); lxchunk needs a squashfs or a VM disk image`,
    );
  }
  if (String.fromCharCode(...head.subarray(257, 262)) === 'ustar') {
    throw new InvalidInputError(`${path}: rootfs is a tar archive; lxchunk needs a squashfs or a VM disk image`);
  }
  return checkDiskImage(path, head, await fileSize(path));
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    throw ioError(path, err);
  }
}

/** LXD's image type for a rootfs kind: squashfs is a container, any disk image a VM. */
export function imageTypeFor(kind: RootfsKind): ImageType {
  return kind === 'squashfs' ? 'container' : 'virtual-machine';
}

/** The multipart part (and manifest file role) LXD expects: `rootfs` or `rootfs.img`. */
export function fileRoleFor(kind: RootfsKind): RootfsRole {
  return kind === 'squashfs' ? 'rootfs' : 'rootfs.img';
}

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
}
