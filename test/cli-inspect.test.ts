import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { blake3 } from '@napi-rs/blake-hash';
import { mksquashfs, writeTree } from './helpers/squashfs-image.js';
import { runChunk } from './helpers/run-chunk.js';

const run = promisify(execFile);

interface InspectJson {
  size: number;
  sha256: string;
  params: { min: number; avg: number; max: number };
  chunks: Array<{ offset: number; length: number; id: string }>;
}

describe('chunk inspect (real process, real squashfs made by mksquashfs)', () => {
  let dir: string;
  let image: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-inspect-'));
    await writeTree(join(dir, 'tree'), 1);
    image = join(dir, 'rootfs.squashfs');
    await mksquashfs(join(dir, 'tree'), image);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints size, sha256 (as sha256sum computes it), params and chunks that tile the file', async () => {
    const result = await runChunk(['inspect', '--json', image]);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as InspectJson;
    const bytes = await readFile(image);
    assert.equal(parsed.size, (await stat(image)).size);
    const { stdout } = await run('sha256sum', [image]);
    assert.equal(parsed.sha256, stdout.split(' ')[0]);
    assert.deepEqual(parsed.params, { min: 2048, avg: 16384, max: 65536 }, 'the squashfs method has its own defaults');
    assert.ok(parsed.chunks.length > 1, 'a multi-megabyte image has several chunks');
    let offset = 0;
    for (const chunk of parsed.chunks) {
      assert.equal(chunk.offset, offset);
      assert.equal(chunk.id, blake3(bytes.subarray(offset, offset + chunk.length)).toString('hex'));
      offset += chunk.length;
    }
    assert.equal(offset, bytes.length);
  });

  it('is deterministic: the same file gives the same chunks every time', async () => {
    const [a, b] = await Promise.all([runChunk(['inspect', '--json', image]), runChunk(['inspect', '--json', image])]);
    assert.equal(a.stdout, b.stdout);
  });

  it('prints a human summary without --json', async () => {
    const result = await runChunk(['inspect', image]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^sha256\s+[0-9a-f]{64}$/m);
    assert.match(result.stdout, /^chunks\s+\d+ \(\d+ distinct\)$/m);
    assert.match(result.stdout, /^params\s+min 2 KiB, avg 16 KiB, max 64 KiB$/m);
    assert.match(result.stdout, /^method\s+squashfs/m);
    assert.equal(result.stderr, '', 'no progress noise when stderr is not a terminal');
  });

  it('takes chunk parameters and records them', async () => {
    const result = await runChunk(['inspect', '--json', '--min', '4096', '--avg', '16384', '--max', '65536', image]);
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout) as InspectJson;
    assert.deepEqual(parsed.params, { min: 4096, avg: 16384, max: 65536 });
    assert.ok(parsed.chunks.every((c) => c.length <= 65536));
  });

  describe('bad input gets a clear error, a stable code and a documented exit code', () => {
    it('parameters the chunker cannot take: exit 2, INVALID_PARAMS', async () => {
      const result = await runChunk(['inspect', '--json', '--min', '70000', image]);
      assert.equal(result.code, 2);
      assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'INVALID_PARAMS');
      assert.match(result.stderr, /min <= avg <= max/);
    });

    it('a size that is not a size (kB is refused: 1000 or 1024?): exit 2', async () => {
      const result = await runChunk(['inspect', '--avg', '64kB', image]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /--avg: expected a size/);
    });

    it('a missing file: exit 3, NOT_FOUND', async () => {
      const result = await runChunk(['inspect', '--json', join(dir, 'missing.squashfs')]);
      assert.equal(result.code, 3);
      assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'NOT_FOUND');
    });

    it('a directory: exit 2, INVALID_INPUT', async () => {
      const result = await runChunk(['inspect', '--json', dir]);
      assert.equal(result.code, 2);
      assert.equal((JSON.parse(result.stdout) as { error: { code: string } }).error.code, 'INVALID_INPUT');
    });

    it('an unknown command: exit 2 with usage help', async () => {
      const result = await runChunk(['frobnicate']);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /unknown command/);
    });
  });

  it('every command has --help', async () => {
    const top = await runChunk(['--help']);
    assert.equal(top.code, 0);
    const commands = [...top.stdout.matchAll(/^ {2}(\w+)\s/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    assert.ok(commands.includes('inspect'), top.stdout);
    for (const command of commands) {
      const help = await runChunk([command, '--help']);
      assert.equal(help.code, 0, `${command} --help`);
      assert.match(help.stdout, new RegExp(`Usage: chunk ${command}`));
      const subcommands = [...(help.stdout.split('Commands:')[1] ?? '').matchAll(/^ {2}(\w+)(?: \[options\])?\s/gm)].map((m) => m[1]!).filter((c) => c !== 'help');
      for (const sub of subcommands) {
        const subHelp = await runChunk([command, sub, '--help']);
        assert.equal(subHelp.code, 0, `${command} ${sub} --help`);
        assert.match(subHelp.stdout, new RegExp(`Usage: chunk ${command} ${sub}`));
      }
    }
    assert.ok(commands.includes('agent') && commands.includes('push') && commands.includes('pull'));
  });
});
