import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { deflateSync } from 'node:zlib';
import { xorshift32 } from '@lxchunk/chunker/testing';
import { InvalidInputError } from '@lxchunk/errors';
import { compress as zstdCompress } from 'zstd-napi';
import { blockDecompressor } from '../src/decompress.js';
import { lz4DecodeBlock } from '../src/lz4-block.js';
import type { SquashfsCompression } from '../src/index.js';
import { wordText } from './fixtures.js';

/** The system xz, as mksquashfs' xz blocks are made: a complete .xz stream with a CRC32 check. */
function xzCompress(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(execFileSync('xz', ['--format=xz', '--check=crc32', '--stdout'], { input: bytes }));
}

const ENCODERS: Partial<Record<SquashfsCompression, (bytes: Uint8Array) => Uint8Array>> = {
  gzip: (bytes) => new Uint8Array(deflateSync(bytes)),
  zstd: (bytes) => new Uint8Array(zstdCompress(bytes)),
  xz: xzCompress,
};

async function refused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof InvalidInputError && message.test(err.message));
}

describe('block decompressors', function () {
  const text = wordText(xorshift32(9), 8192);

  for (const [compression, encode] of Object.entries(ENCODERS) as Array<[SquashfsCompression, (b: Uint8Array) => Uint8Array]>) {
    describe(compression, function () {
      const decompress = blockDecompressor(compression);

      it('decodes a metadata-sized block', async function () {
        assert.deepEqual(await decompress(encode(text), 8192, 'test block'), text);
      });

      it('refuses a block that expands beyond the bound', async function () {
        await refused(decompress(encode(new Uint8Array(100_000)), 8192, 'test block'), /test block: .* does not decode/);
      });

      it('refuses truncated, corrupt and empty blocks', async function () {
        const encoded = encode(text);
        await refused(decompress(encoded.subarray(0, encoded.length - 7), 8192, 'cut block'), /cut block/);
        // gzip (adler32) and xz (CRC32) blocks carry a checksum; squashfs' zstd blocks do not, so a
        // flipped bit there may decode to other bytes, which only the structure checks can catch.
        if (compression !== 'zstd') {
          const flipped = encoded.slice();
          flipped[Math.floor(flipped.length / 2)]! ^= 0x10;
          await refused(decompress(flipped, 8192, 'flipped block'), /flipped block/);
        }
        await refused(decompress(new Uint8Array(0), 8192, 'empty block'), /empty block/);
        await refused(decompress(new Uint8Array(64).fill(0xa5), 8192, 'junk block'), /junk block/);
      });

      it('keeps working after refusals', async function () {
        // xz-decompress serialises its decoders behind a lock: a refusal that left it held would hang this.
        for (let i = 0; i < 3; i++) await decompress(encode(new Uint8Array(100_000)), 8192, 'big').catch(() => {});
        assert.deepEqual(await decompress(encode(text), 8192, 'test block'), text);
      });
    });
  }

  describe('lz4', function () {
    // token (literals << 4 | match - 4), literals, offset u16, extra length bytes…
    it('decodes literals and overlapping matches', function () {
      const block = Uint8Array.from([0x1f, 0x61, 0x01, 0x00, 0x05, 0x20, 0x62, 0x63]); // "a" + 24 x "a", then "bc"
      assert.equal(Buffer.from(lz4DecodeBlock(block, 100)).toString(), 'a'.repeat(25) + 'bc');
    });

    it('refuses output beyond the bound, offsets before the start, and truncation', function () {
      const long = Uint8Array.from([0x1f, 0x61, 0x01, 0x00, 255, 255, 255, 0x10, 0x62]);
      assert.throws(() => lz4DecodeBlock(long, 100), /exceeds the output size/);
      assert.throws(() => lz4DecodeBlock(Uint8Array.from([0x10, 0x61, 0x02, 0x00, 0x00]), 100), /offset 2 points before/);
      assert.throws(() => lz4DecodeBlock(Uint8Array.from([0x10, 0x61, 0x00, 0x00, 0x00]), 100), /offset 0/);
      assert.throws(() => lz4DecodeBlock(Uint8Array.from([0x50, 0x61]), 100), /literals run past/);
      assert.throws(() => lz4DecodeBlock(Uint8Array.from([0x10, 0x61, 0x01]), 100), /offset runs past/);
      assert.throws(() => lz4DecodeBlock(Uint8Array.from([0xf0, 255, 255]), 100), /length/);
    });

    it('is reached through the lz4 block decompressor, which names the block', async function () {
      await refused(blockDecompressor('lz4')(Uint8Array.from([0x50, 0x61]), 8192, 'lz4 block'), /lz4 block: lz4 data does not decode/);
    });
  });

  it('refuses lzma and lzo, which have no decoder here', async function () {
    await refused(blockDecompressor('lzma')(new Uint8Array(8), 8192, 'x'), /lzma are not supported/);
    await refused(blockDecompressor('lzo')(new Uint8Array(8), 8192, 'x'), /lzo are not supported/);
  });
});
