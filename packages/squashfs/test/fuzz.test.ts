import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, link, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { below, bytesFrom, xorshift32 } from '@lxchunk/chunker/testing';
import { DISTROBUILDER, mksquashfs, wordText } from './fixtures.js';
import type { FuzzJob, FuzzMessage } from './fuzz-worker.js';

/** FUZZ_SEED and FUZZ_CASES (per image) change the run; a failure names its seed and mutation. */
const BASE_SEED = Number(process.env.FUZZ_SEED ?? 0x5eed);
const CASES = Number(process.env.FUZZ_CASES ?? 800);
/** A case that takes this long is a hang: real cases take milliseconds. */
const CASE_DEADLINE_MS = 10_000;

/** A small tree, so that each mutated image is quick to write and map: still every inode kind and fragments, several blocks and headers. */
async function smallTree(root: string): Promise<void> {
  const next = xorshift32(42);
  await mkdir(join(root, 'a/b/c'), { recursive: true });
  await mkdir(join(root, 'many'), { recursive: true });
  await mkdir(join(root, 'empty-dir'), { recursive: true });
  for (let i = 0; i < 12; i++) await writeFile(join(root, `f${i}`), wordText(next, 1 + below(next, 3000)));
  await writeFile(join(root, 'a/b/c/multi.txt'), wordText(next, 20_000));
  await writeFile(join(root, 'a/random.bin'), bytesFrom(next, 9000));
  await writeFile(join(root, 'a/zeros'), new Uint8Array(12_288));
  await writeFile(join(root, 'empty'), '');
  for (let i = 0; i < 40; i++) await writeFile(join(root, `many/entry-${i}`), wordText(next, below(next, 30)));
  await symlink('f1', join(root, 'a/sym'));
  await link(join(root, 'f2'), join(root, 'a/hard'));
}

describe('mapSquashfs under fuzzing', function () {
  let dir: string;
  const images: string[] = [];

  before(async function () {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-squashfs-fuzz-'));
    const tree = join(dir, 'tree');
    await smallTree(tree);
    const configs: Record<string, string[]> = {
      'xz-distrobuilder': DISTROBUILDER,
      'gzip-4k-exports': ['-comp', 'gzip', '-b', '4096'],
      'zstd-4k-no-fragments': ['-comp', 'zstd', '-b', '4096', '-no-fragments'],
      'lz4-4k': ['-comp', 'lz4', '-b', '4096'],
      // Stored metadata has no checksum in the way, so mutations reach every structure check.
      'gzip-4k-stored-metadata': ['-comp', 'gzip', '-b', '4096', '-noI', '-noD', '-noF', '-noX'],
    };
    for (const [name, options] of Object.entries(configs)) {
      const image = join(dir, `${name}.squashfs`);
      await mksquashfs(tree, image, options);
      images.push(image);
    }
  });

  after(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  it(`either maps or refuses with InvalidInputError, within ${CASE_DEADLINE_MS / 1000} s, each of ${CASES} mutations per image`, async function () {
    const job: FuzzJob = { images, baseSeed: BASE_SEED, cases: CASES, scratch: dir };
    // A worker, so that even a synchronous endless loop can be stopped and reported.
    const worker = new Worker(new URL('./fuzz-worker.js', import.meta.url), { workerData: job, resourceLimits: { maxOldGenerationSizeMb: 512 } });
    const failures: string[] = [];
    const result = await new Promise<{ mapped: number; refused: number }>((resolve, reject) => {
      let current: Extract<FuzzMessage, { kind: 'start' }> | undefined;
      let watchdog: NodeJS.Timeout | undefined;
      const fail = (error: Error): void => {
        clearTimeout(watchdog);
        void worker.terminate();
        reject(error);
      };
      worker.on('message', (message: FuzzMessage) => {
        if (message.kind === 'start') {
          current = message;
          clearTimeout(watchdog);
          watchdog = setTimeout(() => fail(new Error(`hung (over ${CASE_DEADLINE_MS} ms): ${caseName(message)}`)), CASE_DEADLINE_MS);
        } else if (message.kind === 'failure') {
          failures.push(`${caseName(message)}\n${message.error}`);
        } else {
          clearTimeout(watchdog);
          resolve(message);
        }
      });
      worker.on('error', (err) => fail(new Error(`the worker died during ${current ? caseName(current) : 'setup'}: ${err.message}`, { cause: err })));
      worker.on('exit', (code) => fail(new Error(`the worker exited with ${code} during ${current ? caseName(current) : 'setup'}`)));
    });
    await worker.terminate();
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} mutations threw something else than InvalidInputError`);
    assert.equal(result.mapped + result.refused, CASES * images.length);
    // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
    assert.ok(result.refused > CASES, `only ${result.refused} refused`);
    assert.ok(result.mapped > 0, 'no mutated image mapped');
  });
});

function caseName(message: { image: string; index: number; seed: number; description: string }): string {
  return `${message.image.split('/').at(-1)} case ${message.index} (seed ${message.seed}): ${message.description}`;
}
