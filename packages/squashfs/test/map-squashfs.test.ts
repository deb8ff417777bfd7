import assert from 'node:assert/strict';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mapSquashfs, squashfsSegments, type ByteRangeKind, type SquashfsMap } from '../src/index.js';
import { ctimeUtc, DISTROBUILDER, MKFS_TIME, mksquashfs, unsquashfsList, unsquashfsSuperblock, writeTree, type TreeInfo } from './fixtures.js';
import { Reassembler } from './reassemble.js';

interface Config {
  name: string;
  options: string[];
  compression: string;
  blockSize: number;
  fragments: boolean;
  exports: boolean;
  xattrs: boolean;
  /** A compressor options block follows the superblock. */
  compressorOptions?: boolean;
  /** `-tailends`: the tails of multi-block files go to fragments too (by default only small files do). */
  tailends?: boolean;
}

const CONFIGS: Config[] = [
  { name: 'xz, distrobuilder options', options: DISTROBUILDER, compression: 'xz', blockSize: 1 << 20, fragments: true, exports: false, xattrs: true },
  {
    name: 'xz, distrobuilder options, -no-fragments',
    options: [...DISTROBUILDER, '-no-fragments'],
    compression: 'xz',
    blockSize: 1 << 20,
    fragments: false,
    exports: false,
    xattrs: true,
  },
  { name: 'gzip, defaults (128K blocks, exportable)', options: ['-comp', 'gzip'], compression: 'gzip', blockSize: 128 << 10, fragments: true, exports: true, xattrs: true },
  {
    name: 'gzip, -b 4096 -no-fragments -no-xattrs',
    options: ['-comp', 'gzip', '-b', '4096', '-no-fragments', '-no-xattrs'],
    compression: 'gzip',
    blockSize: 4096,
    fragments: false,
    exports: true,
    xattrs: false,
  },
  {
    name: 'zstd, -b 1M -tailends',
    options: ['-comp', 'zstd', '-b', '1M', '-no-exports', '-tailends'],
    compression: 'zstd',
    blockSize: 1 << 20,
    fragments: true,
    exports: false,
    xattrs: true,
    tailends: true,
  },
  {
    name: 'zstd, -b 4096 -no-xattrs',
    options: ['-comp', 'zstd', '-b', '4096', '-no-xattrs'],
    compression: 'zstd',
    blockSize: 4096,
    fragments: true,
    exports: true,
    xattrs: false,
  },
  { name: 'lz4 (compressor options block)', options: ['-comp', 'lz4'], compression: 'lz4', blockSize: 128 << 10, fragments: true, exports: true, xattrs: true, compressorOptions: true },
  {
    name: 'gzip, nothing compressed (-noI -noD -noF -noX)',
    options: ['-comp', 'gzip', '-noI', '-noD', '-noF', '-noX'],
    compression: 'gzip',
    blockSize: 128 << 10,
    fragments: true,
    exports: true,
    xattrs: true,
  },
];

describe('mapSquashfs on images made by mksquashfs', function () {
  let dir: string;
  let tree: string;
  let info: TreeInfo;

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-squashfs-'));
    tree = join(dir, 'tree');
    info = await writeTree(tree);
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  for (const config of CONFIGS) {
    describe(config.name, function () {
      let image: string;
      let map: SquashfsMap;

      before(async function () {
        image = join(dir, `${config.name.replace(/\W+/g, '-')}.squashfs`);
        await mksquashfs(tree, image, config.options);
        map = await mapSquashfs(image);
      });

      it('reads the superblock unsquashfs -s reads', async function () {
        const reference = await unsquashfsSuperblock(image);
        const field = (pattern: RegExp): string => {
          const match = pattern.exec(reference);
          assert.ok(match, `unsquashfs -s printed no ${pattern}:\n${reference}`);
          return match[1]!;
        };
        const sb = map.superblock;
        assert.equal(sb.bytesUsed, Number(field(/^Filesystem size (\d+) bytes/m)));
        assert.equal(sb.compression, field(/^Compression (\w+)/m));
        assert.equal(sb.compression, config.compression);
        assert.equal(sb.blockSize, Number(field(/^Block size (\d+)/m)));
        assert.equal(sb.blockSize, config.blockSize);
        assert.equal(sb.blockLog, Math.log2(sb.blockSize));
        assert.equal(sb.fragmentCount, Number(field(/^Number of fragments (\d+)/m)));
        assert.equal(sb.inodeCount, Number(field(/^Number of inodes (\d+)/m)));
        assert.equal(sb.idCount, Number(field(/^Number of ids (\d+)/m)));
        assert.equal(sb.modificationTime, MKFS_TIME);
        assert.equal(field(/^Creation or last append time (.+)$/m), ctimeUtc(sb.modificationTime));
        assert.equal(sb.exportTableStart !== null, /is exportable via NFS/.test(reference));
        assert.equal(sb.exportTableStart !== null, config.exports);
        assert.equal(sb.noFragments, /Fragments are not stored/.test(reference));
        assert.equal(sb.noFragments, !config.fragments);
        // With -no-xattrs unsquashfs says "Xattrs are not stored" and prints no count.
        const xattrIds = Number(/^Number of xattr ids (\d+)/m.exec(reference)?.[1] ?? 0);
        assert.equal(sb.xattrIdTableStart !== null, xattrIds > 0);
        assert.equal(xattrIds > 0, config.xattrs && info.xattrs);
        assert.deepEqual([sb.versionMajor, sb.versionMinor], [4, 0]);
        const file = await readFile(image);
        assert.equal(map.fileSize, file.length);
        assert.equal(map.fileSize % 4096, 0, 'mksquashfs pads to 4 KiB');
      });

      it('lists the regular files and sizes unsquashfs -lls lists', async function () {
        const reference = await unsquashfsList(image);
        const expected = [...reference].filter(([, e]) => e.type === '-').map(([path, e]) => `${path} ${e.size}`);
        const actual = map.files.map((f) => `${f.path} ${f.size}`);
        assert.deepEqual(actual.sort(), expected.sort());
        assert.ok(actual.length > 350, `only ${actual.length} files`);
      });

      it('covers the whole file with sorted, non-overlapping ranges of the expected kinds', function () {
        let at = 0;
        for (const range of map.ranges) {
          assert.equal(range.offset, at, `gap or overlap at ${at}: ${JSON.stringify(range)}`);
          assert.ok(range.length > 0, `empty range ${JSON.stringify(range)}`);
          at += range.length;
        }
        assert.equal(at, map.fileSize);
        const padding = map.ranges.filter((r) => r.kind === 'padding');
        assert.deepEqual(padding, map.fileSize > map.superblock.bytesUsed ? [{ offset: map.superblock.bytesUsed, length: map.fileSize - map.superblock.bytesUsed, kind: 'padding' }] : []);

        const kinds = new Set(map.ranges.map((r) => r.kind));
        const expected: ByteRangeKind[] = ['superblock', 'data', 'inode-table', 'directory-table', 'id-table'];
        if (config.fragments) expected.push('fragment', 'fragment-table');
        if (config.exports) expected.push('export-table');
        if (config.xattrs && info.xattrs) expected.push('xattr');
        if (map.fileSize > map.superblock.bytesUsed) expected.push('padding');
        assert.deepEqual([...kinds].sort(), expected.sort());
        // The compressor options block, when there is one, belongs to the superblock's range.
        if (config.compressorOptions) assert.ok(map.ranges[0]!.length > 96);
        else assert.equal(map.ranges[0]!.length, 96);
        // Tables sit in mksquashfs' order, each once.
        const tables = map.ranges.filter((r) => r.kind.endsWith('table') || r.kind === 'xattr').map((r) => r.kind);
        const order = ['inode-table', 'directory-table', 'fragment-table', 'export-table', 'id-table', 'xattr'];
        assert.deepEqual(tables, order.filter((k) => tables.includes(k as ByteRangeKind)));
      });

      it('tiles the inode and directory tables into their metadata blocks, and segments the whole file', function () {
        for (const range of map.ranges.filter((r) => r.kind === 'inode-table' || r.kind === 'directory-table')) {
          const blocks = range.metadataBlocks;
          assert.ok(blocks, `the ${range.kind} is not tiled`);
          assert.equal(blocks.reduce((a, b) => a + b, 0), range.length);
          assert.ok(blocks.every((size) => size > 2 && size <= 8194));
          assert.ok(blocks.length >= Math.ceil(range.length / 8194));
        }
        const segments = squashfsSegments(map);
        assert.equal(segments.reduce((a, b) => a + b, 0), map.fileSize);
        assert.ok(segments.every((length) => length > 0));
        const blocks = map.ranges.filter((r) => r.kind === 'data' || r.kind === 'fragment').length;
        assert.ok(segments.length >= blocks + 2);
      });

      it('attributes every stored block to a file, and every data range to a block', function () {
        const dataRanges = map.ranges.filter((r) => r.kind === 'data');
        assert.ok(dataRanges.every((r) => r.file !== undefined), 'mksquashfs leaves no unreferenced data bytes');
        const byOffset = new Map(dataRanges.map((r) => [r.offset, r]));
        const owners = new Map<number, Set<string>>();
        for (const file of map.files) {
          for (const block of file.blocks) {
            if (block.length === 0) continue;
            const range = byOffset.get(block.offset);
            assert.ok(range, `${file.path}: no data range at ${block.offset}`);
            assert.equal(range.length, block.length);
            (owners.get(block.offset) ?? owners.set(block.offset, new Set()).get(block.offset)!).add(file.path);
          }
        }
        for (const range of dataRanges) assert.ok(owners.get(range.offset)?.has(range.file!), `range at ${range.offset} names ${range.file}`);
        const fragmentRanges = map.ranges.filter((r) => r.kind === 'fragment');
        assert.deepEqual(
          fragmentRanges.map((r) => [r.offset, r.length]),
          map.fragments.map((f) => [f.offset, f.length]).sort((a, b) => a[0]! - b[0]!),
        );
      });

      it('reassembles every file byte for byte from its blocks and fragment', async function () {
        const handle = await open(image, 'r');
        try {
          const reassembler = new Reassembler(handle, map);
          let sparse = 0;
          let stored = 0;
          for (const file of map.files) {
            const actual = await reassembler.file(file);
            const expected = await readFile(join(tree, file.path));
            assert.ok(Buffer.from(actual).equals(expected), `${file.path} differs`);
            sparse += file.blocks.filter((b) => b.length === 0).length;
            stored += file.blocks.filter((b) => b.length > 0 && !b.compressed).length;
          }
          assert.ok(sparse > 0, 'the tree has sparse blocks');
          assert.ok(stored > 0, 'the tree has blocks stored uncompressed');
        } finally {
          await handle.close();
        }
      });

      it('shares the blocks of duplicate and hard-linked files', function () {
        const find = (path: string) => map.files.find((f) => f.path === path)!;
        assert.deepEqual(find('/dup/random-copy.bin').blocks, find('/big/random.bin').blocks);
        assert.deepEqual(find('/links/hard-big').blocks, find('/big/text.txt').blocks);
        assert.deepEqual(find('/links/hard').fragment, find('/small/f001').fragment);
        const text = find('/big/text.txt');
        const tailInFragment = config.fragments && config.tailends === true;
        assert.equal(text.blocks.length, tailInFragment ? Math.floor(text.size / config.blockSize) : Math.ceil(text.size / config.blockSize));
        assert.equal(text.fragment !== undefined, tailInFragment);
        const small = find('/small/f003');
        assert.equal(small.blocks.length, config.fragments ? 0 : 1);
        assert.equal(small.fragment?.size, config.fragments ? small.size : undefined);
      });
    });
  }
});
