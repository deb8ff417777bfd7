import { Decompressor } from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';

/** Builds the error a caller reports for bad zstd input (a corrupt chunk, a bad response). */
export type ZstdFailure = (reason: string, cause?: unknown) => Error;

let decompressor: Decompressor | undefined;

/** The uncompressed size a single zstd frame announces, refused beyond `maxBytes` before anything is allocated. */
export function zstdFrameContentSize(stored: Uint8Array, maxBytes: number, fail: ZstdFailure): number {
  let size: number | null;
  try {
    size = zstdBinding.getFrameContentSize(stored);
  } catch (err) {
    throw fail('unreadable zstd frame header', err);
  }
  // We always compress in one pass, which records the size; a frame without it is not ours.
  if (size === null) throw fail('zstd frame does not record its content size');
  if (size > maxBytes) throw fail(`zstd frame announces ${size} bytes, more than ${maxBytes}`);
  return size;
}

/**
 * Decompresses exactly one zstd frame of at most `maxBytes` output: a hostile frame cannot make
 * us allocate more, and bytes after the frame (which the size check did not bound) are refused.
 */
export function inflateZstdFrame(stored: Uint8Array, maxBytes: number, fail: ZstdFailure): Uint8Array {
  zstdFrameContentSize(stored, maxBytes, fail);
  let frameSize: number;
  try {
    frameSize = zstdBinding.findFrameCompressedSize(stored);
  } catch (err) {
    throw fail('undecodable zstd data', err);
  }
  if (frameSize !== stored.length) throw fail(`${stored.length - frameSize} bytes after the zstd frame`);
  try {
    decompressor ??= new Decompressor();
    return decompressor.decompress(stored);
  } catch (err) {
    throw fail('undecodable zstd data', err);
  }
}
