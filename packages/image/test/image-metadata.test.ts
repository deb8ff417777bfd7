import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { InvalidInputError } from '@lxchunk/errors';
import { MAX_METADATA_YAML_BYTES, readImageMetadata, type ImageMetadata } from '../src/index.js';
import { METADATA_TREE, METADATA_YAML, Scratch } from './fixtures.js';

/** Asserts an InvalidInputError whose message names the file and matches `problem`. */
async function rejectsInvalid(promise: Promise<unknown>, file: string, problem: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof InvalidInputError, `expected InvalidInputError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_INPUT');
    assert.ok(err.message.includes(file), `message should name ${file}: ${err.message}`);
    assert.match(err.message, problem);
    return true;
  });
}

const EXPECTED: ImageMetadata = {
  architecture: 'x86_64',
  creationDate: 1700000000,
  expiryDate: 1702592000,
  properties: { description: 'Debian bookworm amd64', os: 'debian', release: 'bookworm' },
  hasPropertiesMap: true,
  templates: ['hostname.tpl', 'hosts.tpl'],
  hasRootfs: false,
  hasRootfsImg: false,
};

describe('readImageMetadata', function () {
  let s: Scratch;
  let tree: string;

  before(async function () {
    s = await Scratch.create();
    tree = await s.tree('meta', METADATA_TREE);
  });
  after(async function () {
    await s.remove();
  });

  /** A metadata tarball whose metadata.yaml is `yaml`. */
  async function withYaml(name: string, yaml: string): Promise<string> {
    const dir = await s.tree(`${name}.d`, { 'metadata.yaml': yaml });
    return s.tar(name, dir, ['metadata.yaml']);
  }

  describe('reads the tarballs LXD takes', function () {
    it('xz (tar -J), as distrobuilder makes them', async function () {
      const file = s.tar('meta.tar.xz', tree, ['metadata.yaml', 'templates'], ['-J']);
      assert.deepEqual(await readImageMetadata(file), EXPECTED);
    });

    it('gzip (tar -z)', async function () {
      const file = s.tar('meta.tar.gz', tree, ['metadata.yaml', 'templates'], ['-z']);
      assert.deepEqual(await readImageMetadata(file), EXPECTED);
    });

    it('zstd (tar --zstd)', async function () {
      const file = await s.tarZstd('meta.tar.zst', tree, ['metadata.yaml', 'templates']);
      assert.deepEqual(await readImageMetadata(file), EXPECTED);
    });

    it('plain tar', async function () {
      const file = s.tar('meta.tar', tree, ['metadata.yaml', 'templates']);
      assert.deepEqual(await readImageMetadata(file), EXPECTED);
    });

    it('./metadata.yaml and ./templates/ (tar -C dir .)', async function () {
      const file = s.tar('dot.tar.gz', tree, ['.'], ['-z']);
      assert.match(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }), /^\.\/metadata\.yaml$/m);
      assert.deepEqual(await readImageMetadata(file), EXPECTED);
    });

    it('templates/ stored ahead of metadata.yaml', async function () {
      const file = s.tar('templates-first.tar.xz', tree, ['./templates', './metadata.yaml'], ['-J']);
      assert.deepEqual(await readImageMetadata(file), EXPECTED);
    });

    it('whatever the file is called: magic numbers decide', async function () {
      const file = s.tar('misnamed.tar.gz', tree, ['metadata.yaml', 'templates'], ['-J']);
      assert.deepEqual(await readImageMetadata(file), EXPECTED);
    });
  });

  describe('unified tarballs (metadata.yaml + rootfs/)', function () {
    let unifiedTree: string;
    before(async function () {
      unifiedTree = await s.tree('unified', {
        ...METADATA_TREE,
        'rootfs/etc/os-release': 'ID=debian\n',
        // incompressible, so compressed output still holds it near the end of the file
        'rootfs/usr/lib/big': randomBytes(1024 * 1024),
      });
    });

    it('sets hasRootfs', async function () {
      const file = s.tar('unified.tar.gz', unifiedTree, ['metadata.yaml', 'templates', 'rootfs'], ['-z']);
      assert.deepEqual(await readImageMetadata(file), { ...EXPECTED, hasRootfs: true });
    });

    it('sets hasRootfsImg for a rootfs.img (a unified VM image, by LXD\'s rule)', async function () {
      const vmTree = await s.tree('unified-vm', { ...METADATA_TREE, 'rootfs.img': randomBytes(4096) });
      const file = s.tar('unified-vm.tar.gz', vmTree, ['metadata.yaml', 'templates', 'rootfs.img'], ['-z']);
      assert.deepEqual(await readImageMetadata(file), { ...EXPECTED, hasRootfs: true, hasRootfsImg: true });
    });

    it("stops at rootfs/ by default; untilEnd also lists templates/ stored after it (LXD's order)", async function () {
      const file = s.tar('unified-lxd-order.tar.xz', unifiedTree, ['metadata.yaml', 'rootfs', 'templates'], ['-J']);
      const early = await readImageMetadata(file);
      assert.equal(early.hasRootfs, true);
      assert.deepEqual(early.templates, []);
      const full = await readImageMetadata(file, { untilEnd: true });
      assert.deepEqual(full, { ...EXPECTED, hasRootfs: true });
    });

    it('really stops reading: a truncated tail after rootfs/ is never reached unless untilEnd', async function () {
      const file = s.tar('unified-cut.tar.xz', unifiedTree, ['metadata.yaml', 'rootfs', 'templates'], ['-J']);
      const { size } = await stat(file);
      await truncate(file, size - 64); // loses the xz index and footer: only the very end is bad
      const early = await readImageMetadata(file);
      assert.equal(early.hasRootfs, true);
      await rejectsInvalid(readImageMetadata(file, { untilEnd: true }), file, /corrupt or truncated xz data/);
    });

    it('finds metadata.yaml after rootfs/ too (streamed, not buffered)', async function () {
      const file = s.tar('unified-late.tar.zst', unifiedTree, ['rootfs', 'metadata.yaml', 'templates'], ['--zstd']);
      const got = await readImageMetadata(file);
      assert.equal(got.hasRootfs, true);
      assert.equal(got.architecture, 'x86_64');
    });
  });

  describe('refuses what it cannot use, naming the file', function () {
    it('bzip2 (tar -j): unsupported, clearly', async function () {
      const file = s.tar('meta.tar.bz2', tree, ['metadata.yaml', 'templates'], ['-j']);
      await rejectsInvalid(readImageMetadata(file), file, /bzip2.*not supported/);
    });

    it('no metadata.yaml', async function () {
      const file = s.tar('no-yaml.tar.xz', tree, ['templates'], ['-J']);
      await rejectsInvalid(readImageMetadata(file), file, /no metadata\.yaml/);
    });

    it('an empty tar archive', async function () {
      const empty = await s.tree('empty', {});
      const file = s.tar('empty.tar', empty, ['--files-from=/dev/null']);
      await rejectsInvalid(readImageMetadata(file), file, /no metadata\.yaml.*empty tar archive/);
    });

    it('invalid YAML', async function () {
      const file = await withYaml('bad-yaml.tar', 'architecture: x86_64\ncreation_date: [1700000000\n');
      await rejectsInvalid(readImageMetadata(file), file, /metadata\.yaml is not valid YAML/);
    });

    it('YAML that is not a mapping', async function () {
      const file = await withYaml('list.tar', '- architecture\n- x86_64\n');
      await rejectsInvalid(readImageMetadata(file), file, /must be a YAML mapping/);
    });

    it('duplicate keys (LXD refuses them too)', async function () {
      const file = await withYaml('dup.tar', 'architecture: x86_64\narchitecture: aarch64\ncreation_date: 1\n');
      await rejectsInvalid(readImageMetadata(file), file, /not valid YAML.*unique/);
    });

    it('no architecture', async function () {
      const file = await withYaml('no-arch.tar', 'creation_date: 1700000000\nproperties:\n  os: debian\n');
      await rejectsInvalid(readImageMetadata(file), file, /has no architecture/);
    });

    it('an architecture that is not a name', async function () {
      const file = await withYaml('arch-map.tar', 'architecture: {a: 1}\ncreation_date: 1700000000\n');
      await rejectsInvalid(readImageMetadata(file), file, /has no architecture/);
      const spaced = await withYaml('arch-space.tar', 'architecture: x86 64\ncreation_date: 1700000000\n');
      await rejectsInvalid(readImageMetadata(spaced), spaced, /invalid architecture "x86 64"/);
    });

    it('no creation_date, or one that is not whole unix seconds', async function () {
      const missing = await withYaml('no-date.tar', 'architecture: x86_64\n');
      await rejectsInvalid(readImageMetadata(missing), missing, /has no creation_date/);
      for (const [name, value] of [
        ['date-str.tar', '"1700000000"'],
        ['date-word.tar', 'yesterday'],
        ['date-frac.tar', '1700000000.5'],
        ['date-neg.tar', '-1'],
        ['date-far.tar', '253402300800'],
      ] as const) {
        const file = await withYaml(name, `architecture: x86_64\ncreation_date: ${value}\n`);
        await rejectsInvalid(readImageMetadata(file), file, /invalid creation_date/);
      }
    });

    it('a property whose value is a mapping', async function () {
      const file = await withYaml('nested.tar', 'architecture: x86_64\ncreation_date: 1\nproperties:\n  os: {name: debian}\n');
      await rejectsInvalid(readImageMetadata(file), file, /property "os".*not text/);
    });

    it('a truncated .tar.xz', async function () {
      const file = s.tar('cut.tar.xz', tree, ['metadata.yaml', 'templates'], ['-J']);
      const bytes = await readFile(file);
      await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await rejectsInvalid(readImageMetadata(file), file, /corrupt or truncated xz data/);
    });

    it('a truncated .tar.gz', async function () {
      const file = s.tar('cut.tar.gz', tree, ['metadata.yaml', 'templates'], ['-z']);
      const bytes = await readFile(file);
      await writeFile(file, bytes.subarray(0, bytes.length - 12));
      await rejectsInvalid(readImageMetadata(file), file, /corrupt or truncated gzip data/);
    });

    it('a truncated .tar.zst', async function () {
      const file = await s.tarZstd('cut.tar.zst', tree, ['metadata.yaml', 'templates']);
      const bytes = await readFile(file);
      await writeFile(file, bytes.subarray(0, bytes.length - 12));
      await rejectsInvalid(readImageMetadata(file), file, /corrupt or truncated zstd data/);
    });

    it('a plain tar cut inside an entry', async function () {
      const big = await s.tree('big-entry', { 'metadata.yaml': METADATA_YAML, 'templates/big.tpl': randomBytes(64 * 1024) });
      const file = s.tar('cut.tar', big, ['metadata.yaml', 'templates']);
      await truncate(file, 4096);
      await rejectsInvalid(readImageMetadata(file), file, /truncated tar archive/);
    });

    it('a random file that is not a tar', async function () {
      const file = await s.file('random.bin', randomBytes(64 * 1024));
      await rejectsInvalid(readImageMetadata(file), file, /not a tar archive/);
      const short = await s.file('short.bin', randomBytes(100));
      await rejectsInvalid(readImageMetadata(short), short, /not a tar archive/);
    });

    it('a gzip of something that is not a tar', async function () {
      const text = await s.file('notes.txt', 'just some text, not an archive\n'.repeat(100));
      execFileSync('gzip', ['-k', text]);
      const file = `${text}.gz`;
      await rejectsInvalid(readImageMetadata(file), file, /not a tar archive inside its gzip compression/);
    });

    it('a metadata.yaml over 64 MiB, before reading it', async function () {
      const dir = await s.tree('huge', {});
      await writeFile(`${dir}/metadata.yaml`, '');
      await truncate(`${dir}/metadata.yaml`, MAX_METADATA_YAML_BYTES + 1);
      const file = s.tar('huge.tar', dir, ['metadata.yaml']);
      await rejectsInvalid(readImageMetadata(file), file, /larger than 67108864 bytes/);
    });

    it('a missing file or a directory', async function () {
      const missing = s.path('nope.tar.xz');
      await rejectsInvalid(readImageMetadata(missing), missing, /no such file/);
      await rejectsInvalid(readImageMetadata(tree), tree, /not a regular file/);
    });

    it('says what to install when the xz command is missing', async function () {
      const file = s.tar('needs-xz.tar.xz', tree, ['metadata.yaml'], ['-J']);
      const saved = process.env.PATH;
      process.env.PATH = s.path('no-bin-here');
      try {
        await assert.rejects(readImageMetadata(file), /xz command is needed.*xz-utils/);
      } finally {
        process.env.PATH = saved;
      }
    });
  });

  describe('metadata.yaml values', function () {
    it('maps Debian architecture names to LXD names', async function () {
      const cases = { amd64: 'x86_64', arm64: 'aarch64', armhf: 'armv7l', i386: 'i686', ppc64el: 'ppc64le', s390x: 's390x' };
      for (const [debian, lxd] of Object.entries(cases)) {
        const file = await withYaml(`arch-${debian}.tar`, `architecture: ${debian}\ncreation_date: 1700000000\n`);
        assert.equal((await readImageMetadata(file)).architecture, lxd, debian);
      }
      const kept = await withYaml('arch-riscv.tar', 'architecture: riscv64\ncreation_date: 1700000000\n');
      assert.equal((await readImageMetadata(kept)).architecture, 'riscv64');
    });

    it("gives property values as text the way LXD's parser does", async function () {
      const yaml = [
        'architecture: aarch64',
        'creation_date: 0x6553F100',
        'properties:',
        '  version: 12.10', // a float to YAML, "12.10" to LXD
        '  serial: "20231114_22:13"',
        '  upgradable: yes',
        '  build: 42',
        '  empty:',
        '  tilde: ~',
        '  note: |',
        '    two',
        '    lines',
        '  __proto__: plain',
        '',
      ].join('\n');
      const got = await readImageMetadata(await withYaml('props.tar', yaml));
      assert.equal(got.creationDate, 0x6553f100);
      assert.equal(got.expiryDate, undefined);
      assert.ok(!('expiryDate' in got));
      const expected = { version: '12.10', serial: '20231114_22:13', upgradable: 'yes', build: '42', empty: '', tilde: '' };
      assert.deepEqual({ ...got.properties }, { ...expected, note: 'two\nlines\n', ['__proto__']: 'plain' });
      assert.equal(Object.getPrototypeOf(got.properties), Object.prototype);
      assert.ok(Object.hasOwn(got.properties, '__proto__'));
    });

    it('no properties gives an empty map', async function () {
      const got = await readImageMetadata(await withYaml('bare.tar', 'architecture: x86_64\ncreation_date: 1\n'));
      assert.deepEqual(got, { architecture: 'x86_64', creationDate: 1, properties: {}, hasPropertiesMap: false, templates: [], hasRootfs: false, hasRootfsImg: false });
    });

    it('tells an empty properties map from a null or absent one (LXD 5.0 has a map to add to only then)', async function () {
      const head = 'architecture: x86_64\ncreation_date: 1\n';
      const cases: Array<[string, boolean]> = [['properties: {}\n', true], ['properties:\n', false], ['properties: ~\n', false], ['base: &p {os: x}\nproperties: *p\n', true]];
      for (const [i, [yaml, expected]] of cases.entries()) {
        assert.equal((await readImageMetadata(await withYaml(`map-${i}.tar`, head + yaml))).hasPropertiesMap, expected, yaml);
      }
    });
  });
});
