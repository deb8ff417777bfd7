import { InvalidInputError } from '@lxchunk/errors';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/** A request body streamed from disk with a length known up front. */
export interface UploadBody {
  readonly contentType: string;
  readonly contentLength: number;
  readonly stream: Readable;
}

/**
 * The bytes of `path`, read as they are sent (never buffered). `size` is the file's size when the
 * body was planned: a file that grows or shrinks meanwhile fails the upload rather than sending
 * bytes that do not match the announced length.
 */
export async function* fileBytes(path: string, size: number, readChunkBytes = 1 << 20): AsyncGenerator<Buffer> {
  let sent = 0;
  const file = createReadStream(path, { highWaterMark: readChunkBytes });
  try {
    for await (const piece of file) {
      const buf = piece as Buffer;
      sent += buf.length;
      if (sent > size) throw new InvalidInputError(`${path} grew while it was being uploaded (expected ${size} bytes)`);
      yield buf;
    }
  } finally {
    file.destroy();
  }
  if (sent !== size) throw new InvalidInputError(`${path} shrank while it was being uploaded (expected ${size} bytes, read ${sent})`);
}

/** One file as the whole body, as LXD takes a unified image (`lxc image import` does the same). */
export function fileBody(path: string, size: number): UploadBody {
  return { contentType: 'application/octet-stream', contentLength: size, stream: Readable.from(fileBytes(path, size), { objectMode: false }) };
}
