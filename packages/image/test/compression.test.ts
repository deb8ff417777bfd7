import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { compress } from 'zstd-napi';
import { COMPRESSION_MAGIC_BYTES, detectCompression } from '../src/index.js';
import { zstdDecode } from '../src/zstd-decode.js';
import { Scratch } from './fixtures.js';

describe('detectCompression', function () {
  let s: Scratch;
  before(async function () {
    s = await Scratch.create();
  });
  after(async function () {
    await s.remove();
  });

  async function headOf(file: string): Promise<Uint8Array> {
    return (await readFile(file)).subarray(0, COMPRESSION_MAGIC_BYTES);
  }

  it('knows the files the real tools write', async function () {
    const text = await s.file('data.txt', 'some text\n'.repeat(100));
    execFileSync('xz', ['-k', text]);
    execFileSync('gzip', ['-k', text]);
    execFileSync('bzip2', ['-k', text]);
    assert.equal(detectCompression(await headOf(`${text}.xz`)), 'xz');
    assert.equal(detectCompression(await headOf(`${text}.gz`)), 'gzip');
    assert.equal(detectCompression(await headOf(`${text}.bz2`)), 'bzip2');
    const dir = await s.tree('t', { a: 'a' });
    assert.equal(detectCompression(await headOf(await s.tarZstd('a.tar.zst', dir, ['a']))), 'zstd');
    assert.equal(detectCompression(await headOf(s.tar('a.tar', dir, ['a']))), 'none');
    assert.equal(detectCompression(await headOf(text)), 'none');
  });

  it('needs the whole magic', function () {
    assert.equal(detectCompression(new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a])), 'none'); // xz less its last byte
    assert.equal(detectCompression(new Uint8Array([0x1f])), 'none');
    assert.equal(detectCompression(new Uint8Array([])), 'none');
    assert.equal(detectCompression(new Uint8Array([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
    assert.equal(detectCompression(new Uint8Array([0x42, 0x5a, 0x68, 0x39])), 'bzip2');
  });
});

describe('zstdDecode', function () {
  it('hands out one block at a time, however much a chunk expands', async function () {
    const zeros = compress(new Uint8Array(64 * 1024 * 1024)); // a few KiB of input, 64 MiB of output
    const blocks = zstdDecode([zeros]);
    const first = await blocks.next();
    assert.equal(first.done, false);
    assert.ok(first.value.length <= 128 * 1024, `block of ${first.value.length} bytes`);
    await blocks.return(undefined); // stopping early leaves the rest undecoded
    let total = 0;
    for await (const block of zstdDecode([zeros.subarray(0, 100), zeros.subarray(100)])) total += block.length;
    assert.equal(total, 64 * 1024 * 1024);
  });

  it('refuses data that ends inside a frame', async function () {
    const frame = compress(randomBytes(300 * 1024));
    await assert.rejects(async () => {
      for await (const _ of zstdDecode([frame.subarray(0, frame.length - 10)])) void _;
    }, /ends inside a zstd frame/);
  });
});
