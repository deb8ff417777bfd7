import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { FileRole, ImageFile, ImageManifest } from '@lxchunk/format';
import type { ChunkReader } from '@lxchunk/store';
import { imageFileBytes } from './image-file-bytes.js';

/** The names LXD gives an image's files (`lxc image export`): metadata `<fp>.tar.xz`, rootfs `<fp>.squashfs`. */
export function exportFileName(fingerprint: string, role: FileRole): string {
  if (role === 'rootfs') return `${fingerprint}.squashfs`;
  if (role === 'rootfs.img') return `${fingerprint}.img`;
  return `${fingerprint}.tar.xz`;
}

/**
 * `GET /1.0/images/FP/export` as LXD answers it: a split image as multipart/form-data with the
 * `metadata` part first and then `rootfs` (container) or `rootfs.img` (VM), a unified image as
 * one attachment. Bytes come straight from the chunks (verified); the length is known up front.
 */
export async function sendImageExport(res: Response, store: ChunkReader, manifest: ImageManifest, cacheControl: string, signal: AbortSignal): Promise<void> {
  const { fingerprint, files } = manifest;
  if (files.length === 1) {
    await sendImageFile(res, store, files[0]!.index, exportFileName(fingerprint, files[0]!.role), cacheControl, signal);
    return;
  }
  const boundary = `lxchunk-${randomBytes(12).toString('hex')}`;
  const heads = files.map((file, i) =>
    Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Disposition: form-data; name="${file.role}"; filename="${exportFileName(fingerprint, file.role)}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    ),
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = heads.reduce((sum, head, i) => sum + head.length + files[i]!.index.size, tail.length);
  async function* body(): AsyncGenerator<Uint8Array> {
    for (const [i, file] of files.entries()) {
      yield heads[i]!;
      yield* imageFileBytes(store, file.index, signal);
    }
    yield tail;
  }
  res.set({ 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(length), 'Cache-Control': cacheControl });
  await pipeline(Readable.from(body(), { objectMode: false }), res);
}

/** One image file as an attachment, streamed from its chunks. */
export async function sendImageFile(res: Response, store: ChunkReader, index: ImageFile['index'], filename: string, cacheControl: string, signal: AbortSignal): Promise<void> {
  res.set({
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(index.size),
    'Content-Disposition': `attachment; filename="${filename}"`,
    'Cache-Control': cacheControl,
  });
  await pipeline(Readable.from(imageFileBytes(store, index, signal), { objectMode: false }), res);
}
