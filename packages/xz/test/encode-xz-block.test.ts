import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { decodeXzBlock, encodeXzBlock, findRecipe, parseXzBlockHeader, selfTest, SELF_TEST_SHA256, type XzRecipe } from '../src/index.js';
import { decodeDictByte, encodeDictByte } from '../src/dict-size.js';
import { rawEncode } from '../src/lzma-codec.js';
import { selfTestSample } from '../src/self-test-sample.js';

const MiB = 1 << 20;
const plain: XzRecipe = { dictSize: MiB, filter: 'none', check: 'crc32' };

function hasXzCli(): boolean {
  try {
    execFileSync('xz', ['--version']);
    return true;
  } catch {
    return false;
  }
}

describe('xz block encoder (@lxchunk/xz)', () => {
  it('passes its self-test, whose golden hash is pinned here too', () => {
    const result = selfTest();
    assert.equal(result.ok, true, JSON.stringify(result));
    // It also measures this host's re-encoding rate, which `--prefer auto` weighs against the link.
    assert.ok(result.ok && result.encodeBytesPerSecond > 0);
    // Changing the sample, the recipes or the encoder must be a deliberate edit of both places.
    assert.equal(SELF_TEST_SHA256, '7c12a9e84b1a70a9ffb1e1f54d5155970d1743e335000c5bbf8307a873e52ad3');
  });

  it('writes the same raw LZMA2 and x86+LZMA2 as the host xz (liblzma of another version)', function () {
    if (!hasXzCli()) this.skip();
    const sample = selfTestSample();
    for (const [filter, args] of [['none', []], ['x86', ['--x86']]] as const) {
      const host = execFileSync('xz', ['--format=raw', ...args, '--lzma2=preset=6,dict=1MiB', '-c'], { input: sample });
      assert.ok(Buffer.from(rawEncode(sample, MiB, filter)).equals(host), `raw ${filter} encoding differs from the host xz`);
    }
  });

  it('writes a valid single-block stream whose header names its recipe and sizes', async () => {
    const sample = selfTestSample();
    for (const filter of ['none', 'x86', 'arm'] as const) {
      const recipe: XzRecipe = { dictSize: 512 * 1024, filter, check: 'crc32' };
      const block = encodeXzBlock(sample, recipe);
      const header = parseXzBlockHeader(block);
      assert.deepEqual(header?.recipe, recipe);
      assert.equal(header?.uncompressedSize, sample.length);
      assert.ok(Buffer.from(await decodeXzBlock(block, sample.length, 'test block')).equals(sample));
      assert.deepEqual(findRecipe(block, sample), recipe);
    }
  });

  it('the host xz decodes and tests what it writes', function () {
    if (!hasXzCli()) this.skip();
    const sample = selfTestSample();
    const block = encodeXzBlock(sample, { dictSize: MiB, filter: 'x86', check: 'crc32' });
    assert.ok(execFileSync('xz', ['-dc'], { input: block }).equals(sample));
  });

  it('encodes LZMA2 dictionary bytes as xz does: 2^n and 2^n + 2^(n-1), rounding up', () => {
    assert.equal(encodeDictByte(MiB), 16);
    assert.equal(encodeDictByte(512 * 1024), 14);
    assert.equal(encodeDictByte(768 * 1024), 15);
    assert.equal(encodeDictByte(MiB + 1), 17);
    assert.equal(encodeDictByte(1), 0);
    for (let byte = 0; byte < 40; byte++) assert.equal(encodeDictByte(decodeDictByte(byte)!), byte);
    assert.equal(decodeDictByte(41), undefined);
  });

  it('refuses recipes it cannot honour with INVALID_INPUT', () => {
    const sample = selfTestSample();
    assert.throws(() => encodeXzBlock(sample, { ...plain, dictSize: 100 }), { code: 'INVALID_INPUT' });
    assert.throws(() => encodeXzBlock(sample, { ...plain, check: 'crc64' as 'crc32' }), { code: 'INVALID_INPUT' });
    assert.throws(() => encodeXzBlock(new Uint8Array(0), plain), { code: 'INVALID_INPUT' });
  });

  it('finds no recipe for content that is not the block, or a block that is not a mksquashfs xz block', () => {
    const sample = selfTestSample();
    const block = encodeXzBlock(sample, plain);
    const other = sample.slice();
    other[100] = other[100]! ^ 1;
    assert.equal(findRecipe(block, other), undefined);
    assert.equal(findRecipe(block, sample.subarray(1)), undefined);
    assert.equal(findRecipe(block.subarray(0, 30), sample), undefined);
    assert.equal(findRecipe(new Uint8Array(0), sample), undefined);
  });
});
