import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeXzBlock, encodeXzBlock, findRecipe, imageXzBlocks, parseXzBlockHeader, wrapXzBlock, XzPool, type XzImageBlock, type XzRecipe } from '@lxchunk/xz';
import { mksquashfs, writeTree } from './helpers/squashfs-image.js';

interface Outcome {
  item: XzImageBlock;
  recipe: XzRecipe | undefined;
}

/** Every block of the image with the recipe found for it (none looked for when stored uncompressed). */
async function recipesOf(pool: XzPool, image: string): Promise<Outcome[]> {
  const pending: Array<Promise<Outcome>> = [];
  for await (const item of imageXzBlocks(image)) {
    pending.push(item.block.compressed ? pool.findRecipe(item.stored, item.content).then((recipe) => ({ item, recipe })) : Promise.resolve({ item, recipe: undefined }));
  }
  return Promise.all(pending);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** Real x86-64 executables, so that `-Xbcj x86` has calls to convert and picks the filter for some blocks. */
const BINARIES = ['/usr/bin/ls', '/usr/bin/cp', '/usr/bin/tar', '/usr/bin/find'];

describe('exact xz re-encoding of real mksquashfs images', () => {
  let work: string;
  let tree: string;
  let pool: XzPool;
  const images: Record<string, string> = {};

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-xz-rebuild-'));
    tree = join(work, 'tree');
    await writeTree(tree, 12, 40);
    // Files over the 1 MiB block size get data blocks (smaller ones go whole into fragments):
    // text that compresses, and random bytes that mksquashfs stores uncompressed.
    await mkdir(join(tree, 'big'), { recursive: true });
    await writeFile(join(tree, 'big/text.txt'), textLike(1_600_000));
    await writeFile(join(tree, 'big/random.bin'), randomBytes(1_200_000));
    await mkdir(join(tree, 'bin'), { recursive: true });
    for (const binary of BINARIES) await copyFile(binary, join(tree, 'bin', binary.split('/').pop()!));
    const variants: Record<string, string[]> = { stock: [], 'no-fragments': ['-no-fragments'], bcj: ['-Xbcj', 'x86'], 'dict-50': ['-Xdict-size', '50%'] };
    for (const [name, extra] of Object.entries(variants)) {
      images[name] = join(work, `${name}.squashfs`);
      await mksquashfs(tree, images[name], extra);
    }
    pool = new XzPool();
  });
  after(async () => {
    await pool?.close();
    await rm(work, { recursive: true, force: true });
  });

  for (const name of ['stock', 'no-fragments', 'bcj']) {
    it(`rebuilds every compressed block of the ${name} image byte for byte`, async () => {
      const outcomes = await recipesOf(pool, images[name]!);
      const compressed = outcomes.filter((o) => o.item.block.compressed);
      const kinds = new Set(compressed.map((o) => o.item.block.kind));
      assert.deepEqual([...kinds].sort(), name === 'no-fragments' ? ['data', 'directory-table', 'inode-table'] : ['data', 'directory-table', 'fragment', 'inode-table']);
      const missing = compressed.filter((o) => !o.recipe).map((o) => `${o.item.block.kind}@${o.item.block.offset}`);
      assert.deepEqual(missing, [], `blocks that did not reproduce`);
      assert.equal(compressed.filter((o) => o.recipe).length, compressed.length);
      for (const { item, recipe } of compressed) {
        // mksquashfs gives metadata blocks an 8 KiB dictionary, data and fragments the block size.
        assert.equal(recipe!.dictSize, isMetadata(item) ? 8192 : 1 << 20);
        assert.ok(same(encodeXzBlock(item.content, recipe!), item.stored));
      }
      // The random file's blocks were not smaller compressed: stored as they are, needing no recipe.
      assert.ok(outcomes.some((o) => !o.item.block.compressed && o.item.block.kind === 'data'));
      // With -Xbcj, metadata is still plain LZMA2; data blocks keep whichever filter came out smaller.
      if (name === 'bcj') assert.ok(compressed.some((o) => o.recipe!.filter === 'x86'), 'no block chose the x86 filter');
      else assert.ok(compressed.every((o) => o.recipe!.filter === 'none'));
    });
  }

  it('an -Xdict-size 50% image: a recipe is returned only when it rebuilds the block exactly', async () => {
    const outcomes = (await recipesOf(pool, images['dict-50']!)).filter((o) => o.item.block.compressed);
    assert.ok(outcomes.length > 0);
    for (const { item, recipe } of outcomes) {
      assert.equal(parseXzBlockHeader(item.stored)?.recipe.dictSize, isMetadata(item) ? 8192 : 512 * 1024);
      if (recipe) assert.ok(same(encodeXzBlock(item.content, recipe), item.stored));
    }
    // Measured: the header-derived dictionary reproduces all of them (mksquashfs only allows 2^n and 2^n + 2^(n-1)).
    assert.equal(outcomes.filter((o) => o.recipe).length, outcomes.length);
  });

  it('a block encoded with other LZMA2 options (preset 9e) decodes but has no recipe', async () => {
    const block = await firstBlock(images.stock!, 'data');
    // Same container mksquashfs writes, other encoder settings: only the payload differs.
    const payload = execFileSync('xz', ['--format=raw', '--lzma2=preset=9e,dict=1MiB', '-c'], { input: block.content });
    const rewrapped = wrapXzBlock(payload, block.content, { dictSize: 1 << 20, filter: 'none', check: 'crc32' });
    assert.ok(same(await decodeXzBlock(rewrapped, block.block.maxOutput, 'preset 9e block'), block.content));
    assert.notEqual(Buffer.compare(rewrapped, block.stored), 0);
    assert.equal(findRecipe(rewrapped, block.content), undefined);
    // xz's own streams (no sizes in the block header) are not what mksquashfs writes either.
    const stream = execFileSync('xz', ['--format=xz', '--check=crc32', '--lzma2=preset=6,dict=1MiB', '-c'], { input: block.content });
    assert.equal(parseXzBlockHeader(stream), undefined);
    assert.equal(findRecipe(stream, block.content), undefined);
  });

  it('a mutated block never yields a recipe: header, payload and trailer flips', async () => {
    for (const kind of ['data', 'fragment', 'inode-table'] as const) {
      const block = await firstBlock(images.stock!, kind);
      assert.ok(findRecipe(block.stored, block.content));
      const positions = [7, 14, 20, Math.floor(block.stored.length / 2), block.stored.length - 10, block.stored.length - 1];
      for (const at of positions) {
        const mutated = block.stored.slice();
        mutated[at] = mutated[at]! ^ 0x10;
        assert.equal(findRecipe(mutated, block.content), undefined, `${kind} block flipped at ${at}`);
      }
      const payloadFlip = block.stored.slice();
      const middle = Math.floor(payloadFlip.length / 2);
      payloadFlip[middle] = payloadFlip[middle]! ^ 0x10;
      await assert.rejects(decodeXzBlock(payloadFlip, block.block.maxOutput, 'mutated block'), { code: 'INVALID_INPUT' });
    }
  });
});

function isMetadata(item: XzImageBlock): boolean {
  return item.block.kind === 'inode-table' || item.block.kind === 'directory-table';
}

/** Deterministic stand-ins for a large text file and an already-compressed payload. */
function textLike(size: number): Buffer {
  const words = ['usr', 'lib', 'share', 'locale', 'config', 'package', 'version', 'debian'];
  let out = '';
  for (let i = 0; out.length < size; i++) out += words[(i * 7 + (i >> 3)) % words.length] + (i % 11 === 0 ? '\n' : ' ');
  return Buffer.from(out.slice(0, size));
}

function randomBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function firstBlock(image: string, kind: XzImageBlock['block']['kind']): Promise<XzImageBlock> {
  for await (const item of imageXzBlocks(image)) if (item.block.kind === kind && item.block.compressed) return item;
  throw new Error(`no compressed ${kind} block in ${image}`);
}

