import { inflateSync } from 'node:zlib';
import zstd from 'zstd-napi/binding.js';
import { lz4DecodeBlock } from './lz4-block.js';
import { malformed } from './malformed.js';
import type { SquashfsCompression } from './superblock.js';
import { xzDecodeBlock } from './xz-block.js';
import { InvalidInputError } from '@lxchunk/errors';

/**
 * Decompresses one squashfs block (metadata or data) into at most `maxOutput` bytes. Every decoder
 * is bounded by the output size, so a block that claims to expand further is refused instead of
 * allocated; every decoder failure becomes InvalidInputError naming `what`.
 */
export type BlockDecompressor = (input: Uint8Array, maxOutput: number, what: string) => Promise<Uint8Array>;

export function blockDecompressor(compression: SquashfsCompression): BlockDecompressor {
  const decode = decoders[compression];
  return async (input, maxOutput, what) => {
    let output: Uint8Array;
    try {
      output = await decode(input, maxOutput);
    } catch (err) {
      if (err instanceof InvalidInputError) throw err;
      throw malformed(`${what}: ${compression} data does not decode (${(err as Error).message})`, err);
    }
    // No squashfs block is empty; zstd, for one, decodes empty input to nothing without complaint.
    if (output.length === 0) throw malformed(`${what}: ${compression} data decodes to no bytes`);
    return output;
  };
}

type Decode = (input: Uint8Array, maxOutput: number) => Uint8Array | Promise<Uint8Array>;

/**
 * squashfs' "gzip" is zlib's compress2 output (zlib framing, not gzip). zstd decodes in one shot
 * into a fixed buffer: libzstd then needs no window allocation whatever the frame header claims.
 * lzma (the legacy .lzma format) and lzo have no decoder here; mksquashfs has defaulted to gzip
 * and distrobuilder uses xz, so such images are refused when a compressed block must be read.
 */
const decoders: Record<SquashfsCompression, Decode> = {
  gzip: (input, maxOutput) => {
    const out = inflateSync(input, { maxOutputLength: maxOutput });
    return new Uint8Array(out.buffer, out.byteOffset, out.length);
  },
  zstd: (input, maxOutput) => {
    const out = new Uint8Array(maxOutput);
    return out.subarray(0, zstdContext().decompress(out, input));
  },
  xz: xzDecodeBlock,
  lz4: lz4DecodeBlock,
  lzma: () => unsupported('lzma'),
  lzo: () => unsupported('lzo'),
};

let dctx: zstd.DCtx | undefined;
/** One context for the process: creating one per block would cost more than decoding it. */
function zstdContext(): zstd.DCtx {
  dctx ??= new zstd.DCtx();
  return dctx;
}

function unsupported(compression: string): never {
  throw new InvalidInputError(`squashfs images compressed with ${compression} are not supported (use gzip, xz, zstd or lz4)`);
}
