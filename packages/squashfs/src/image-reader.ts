import { open, stat, type FileHandle } from 'node:fs/promises';
import { InvalidInputError } from '@lxchunk/errors';
import { malformed } from './malformed.js';

/** Read-ahead window: tables are read in small pieces, mostly in order; one window serves many. */
const WINDOW = 256 * 1024;

/**
 * Positioned reads of an image file, never past `limit` (bytes_used once the superblock is
 * known). Small reads are served from one read-ahead window, so walking metadata blocks costs a
 * system call per 256 KiB instead of one per block; the image itself is never loaded whole.
 */
export class ImageReader {
  private window: Uint8Array = new Uint8Array(0);
  private windowStart = 0;
  /** Reads beyond this offset are refused as running past the image. */
  limit: number;

  private constructor(
    private readonly handle: FileHandle,
    /** The file's length, padding included. */
    readonly size: number,
  ) {
    this.limit = size;
  }

  static async open(path: string): Promise<ImageReader> {
    // Checked before opening too: opening a FIFO for reading would block until a writer comes.
    if (!(await stat(path)).isFile()) throw notAFile(path);
    const handle = await open(path, 'r');
    try {
      const info = await handle.stat();
      if (!info.isFile()) throw notAFile(path);
      return new ImageReader(handle, info.size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /**
   * Exactly `length` bytes at `offset`. The result may be a view of the read-ahead window: use it
   * before the next read, or copy it.
   */
  async read(offset: number, length: number, what: string): Promise<Uint8Array> {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.limit) {
      throw malformed(`${what} at byte ${offset} (${length} bytes) runs past the end of the image (${this.limit} bytes)`);
    }
    const inWindow = offset >= this.windowStart && offset + length <= this.windowStart + this.window.length;
    if (inWindow) return this.window.subarray(offset - this.windowStart, offset - this.windowStart + length);
    if (length > WINDOW) return this.readExactly(offset, length, what);
    this.window = await this.readExactly(offset, Math.min(WINDOW, this.limit - offset), what);
    this.windowStart = offset;
    return this.window.subarray(0, length);
  }

  private async readExactly(offset: number, length: number, what: string): Promise<Uint8Array> {
    const buffer = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.handle.read(buffer, done, length - done, offset + done);
      // The file shrank under us (or limit was set past its end): a truncated image.
      if (bytesRead === 0) throw malformed(`${what} at byte ${offset}: the file ends at ${offset + done}`);
      done += bytesRead;
    }
    return buffer;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function notAFile(path: string): InvalidInputError {
  return new InvalidInputError(`${path} is not a regular file (a squashfs image is)`);
}
