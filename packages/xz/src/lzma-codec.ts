import { InternalError, InvalidInputError } from '@lxchunk/errors';
import { lzmaNative, type LzmaNative } from './lzma-native-binding.js';
import { XZ_ENCODER, type XzFilter } from './xz-recipe.js';

type NativeStream = InstanceType<LzmaNative['Stream']>;

/**
 * Runs one lzma-native stream synchronously over a whole buffer: lzma-native's own Transform
 * wrapper would cost a round trip through the event loop per output buffer, and a block is small
 * enough (≤ 1 MiB) to code in one call. With `async` false the addon calls bufferHandler before
 * `code` returns.
 */
function codeWhole(stream: NativeStream, input: Uint8Array, outputHint: number): Uint8Array {
  const parts: Buffer[] = [];
  let failure: Error | undefined;
  stream.bufferHandler = (buf, _processed, err) => {
    if (err) failure = err;
    else if (buf) parts.push(buf);
  };
  stream.setBufsize(Math.max(outputHint, 4096));
  try {
    stream.code(input, false);
    stream.code(null, false);
  } finally {
    stream.resetUnderlying();
  }
  if (failure) throw failure;
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** lzma-native's names for the BCJ filters (its FILTER_* constants). */
const NATIVE_FILTERS: Readonly<Record<Exclude<XzFilter, 'none'>, string>> = {
  x86: 'LZMA_FILTER_X86',
  powerpc: 'LZMA_FILTER_POWERPC',
  ia64: 'LZMA_FILTER_IA64',
  arm: 'LZMA_FILTER_ARM',
  armthumb: 'LZMA_FILTER_ARMTHUMB',
  sparc: 'LZMA_FILTER_SPARC',
};

/** Raw (headerless) [BCJ +] LZMA2 encoding with preset 6's parameters and the given dictionary. */
export function rawEncode(content: Uint8Array, dictSize: number, filter: XzFilter): Uint8Array {
  const { lc, lp, pb, niceLen, depth } = XZ_ENCODER.lzma2;
  try {
    const lzma = lzmaNative();
    const lzma2 = { id: lzma.FILTER_LZMA2, options: { dictSize, lc, lp, pb, mode: lzma.MODE_NORMAL, niceLen, mf: lzma.MF_BT4, depth } };
    const stream = new lzma.Stream();
    stream.rawEncoder_(filter === 'none' ? [lzma2] : [{ id: NATIVE_FILTERS[filter] }, lzma2]);
    return codeWhole(stream, content, content.length + 1024);
  } catch (err) {
    throw new InternalError(`liblzma could not encode a ${content.length}-byte block (${(err as Error).message})`, { cause: err });
  }
}

/** Enough for a 1 MiB-dictionary block decoder (about 1 MiB + BCJ state); a header asking more is refused. */
const DECODE_MEMLIMIT = 64 * 1024 * 1024;

/**
 * Decodes a complete single-stream .xz buffer with liblzma, checking the CRC. Used for blocks the
 * squashfs package's xz-embedded decoder cannot read: BCJ-filtered ones (`mksquashfs -Xbcj`).
 */
export function xzStreamDecode(input: Uint8Array, maxOutput: number): Uint8Array {
  const stream = new (lzmaNative().Stream)();
  let out: Uint8Array;
  try {
    stream.streamDecoder_(DECODE_MEMLIMIT, 0);
    out = codeWhole(stream, input, maxOutput + 1);
  } catch (err) {
    throw new InvalidInputError(`xz data does not decode (${(err as Error).message})`, { cause: err });
  }
  if (out.length > maxOutput) throw new InvalidInputError(`xz data decodes to more than ${maxOutput} bytes`);
  return out;
}
