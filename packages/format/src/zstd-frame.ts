import { Compressor, Decompressor } from 'zstd-napi';
import zstdBinding from 'zstd-napi/binding.js';

/** Builds the error a caller reports for bad zstd input (a corrupt chunk, a bad response). */
export type ZstdFailure = (reason: string, cause?: unknown) => Error;

// One context of each kind per thread, reused: a context holds megabytes of native memory that
// only the garbage collector gives back, so one per call grew a server by ~1 MB per delta.
let decompressor: Decompressor | undefined;
let dictionaryDecompressor: Decompressor | undefined;
let compressor: Compressor | undefined;
let dictionaryCompressor: Compressor | undefined;

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

/** zstd accepts windows up to 2^27 by default when decompressing; larger would need opting in. */
const MAX_WINDOW_LOG = 27;

/**
 * One zstd frame with its content size and a content checksum. With `dictionary` (raw bytes the
 * reader also holds, e.g. a previous manifest) long runs shared with it cost almost nothing; the
 * window spans the dictionary and the content so those matches stay in reach.
 */
export function compressZstdFrame(bytes: Uint8Array, options: { level: number; dictionary?: Uint8Array }): Uint8Array {
  const span = bytes.length + (options.dictionary?.length ?? 0);
  const windowLog = Math.min(MAX_WINDOW_LOG, Math.max(20, Math.ceil(Math.log2(span + 1))));
  // Every parameter is set on each call, and a dictionary replaces the one before it.
  const context = options.dictionary ? (dictionaryCompressor ??= new Compressor()) : (compressor ??= new Compressor());
  context.setParameters({ compressionLevel: options.level, windowLog, checksumFlag: true });
  if (options.dictionary) context.loadDictionary(options.dictionary);
  return context.compress(bytes);
}

/**
 * Decompresses exactly one zstd frame of at most `maxBytes` output: a hostile frame cannot make
 * us allocate more, and bytes after the frame (which the size check did not bound) are refused.
 * `dictionary` must be the very bytes the frame was compressed with; a wrong one fails the frame's
 * checksum (when it has one) or yields bytes the caller's own checks refuse.
 */
export function inflateZstdFrame(stored: Uint8Array, maxBytes: number, fail: ZstdFailure, dictionary?: Uint8Array): Uint8Array {
  zstdFrameContentSize(stored, maxBytes, fail);
  let frameSize: number;
  try {
    frameSize = zstdBinding.findFrameCompressedSize(stored);
  } catch (err) {
    throw fail('undecodable zstd data', err);
  }
  if (frameSize !== stored.length) throw fail(`${stored.length - frameSize} bytes after the zstd frame`);
  try {
    if (dictionary) {
      dictionaryDecompressor ??= new Decompressor();
      dictionaryDecompressor.loadDictionary(dictionary);
      return dictionaryDecompressor.decompress(stored);
    }
    decompressor ??= new Decompressor();
    return decompressor.decompress(stored);
  } catch (err) {
    throw fail('undecodable zstd data', err);
  }
}
