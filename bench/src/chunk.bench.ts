// `pnpm bench:chunk`: chunk + BLAKE3 + sha256 of a 1 GiB file by `chunk inspect`, beside
// coreutils sha256sum and `casync make` on the same file in the same run.
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureCommand, median, which, type Measurement } from './measure.js';
import { benchArgs } from './bench-args.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cache = join(root, '.bench-cache');
const SIZE = Number(process.env.BENCH_BYTES ?? 1024 * 1024 * 1024);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function main(): Promise<void> {
  await mkdir(cache, { recursive: true });
  const input = join(cache, `random-${SIZE}.bin`);
  await ensureRandomFile(input, SIZE);
  await readFile(input).catch(() => undefined); // warm the page cache: every tool reads from memory
  const json = benchArgs().includes('--json');

  const rows: Array<{ tool: string; m: Measurement; note?: string }> = [];
  rows.push({ tool: 'sha256sum', m: await median(RUNS, () => measureCommand('sha256sum', [input])) });
  rows.push({ tool: 'chunk inspect', m: await median(RUNS, () => measureCommand(join(root, 'bin/chunk'), ['inspect', '--json', input])) });

  const casync = which('casync');
  if (casync) {
    const store = join(cache, 'casync-store');
    await rm(store, { recursive: true, force: true });
    const index = join(cache, 'bench.caibx');
    const args = ['make', `--store=${store}`, '--chunk-size=65536', index, input];
    rows.push({ tool: 'casync make (new store)', m: await measureCommand(casync, args) });
    rows.push({ tool: 'casync make (chunks stored)', m: await median(RUNS, () => measureCommand(casync, args)) });
    await rm(store, { recursive: true, force: true });
  }

  const base = rows.find((r) => r.tool === 'sha256sum')!.m.seconds;
  const ours = rows.find((r) => r.tool === 'chunk inspect')!.m;
  const casyncStored = rows.find((r) => r.tool === 'casync make (chunks stored)')?.m;
  if (json) {
    console.log(JSON.stringify({ bytes: SIZE, runs: RUNS, rows: rows.map((r) => ({ tool: r.tool, ...r.m })) }));
    return;
  }
  console.log(`input: ${SIZE} bytes of random data (page-cached), median of ${RUNS} runs\n`);
  console.log(`${'tool'.padEnd(30)}${'wall s'.padStart(9)}${'MB/s'.padStart(9)}${'peak RSS MB'.padStart(13)}${'÷ sha256sum'.padStart(13)}`);
  for (const { tool, m } of rows) {
    console.log(
      `${tool.padEnd(30)}${m.seconds.toFixed(2).padStart(9)}${(SIZE / 1e6 / m.seconds).toFixed(0).padStart(9)}` +
        `${(m.peakRssBytes / 1e6).toFixed(0).padStart(13)}${(m.seconds / base).toFixed(2).padStart(13)}`,
    );
  }
  console.log('');
  const vsSha = ours.seconds / base;
  console.log(`chunk inspect / sha256sum = ${vsSha.toFixed(2)}× wall time (target ≤ 0.60): ${vsSha <= 0.6 ? 'met' : 'NOT met'}`);
  if (casyncStored) {
    const vsCasync = casyncStored.seconds / ours.seconds;
    console.log(`casync make (chunks stored) / chunk inspect = ${vsCasync.toFixed(2)}× (target ≥ 3): ${vsCasync >= 3 ? 'met' : 'NOT met'}`);
  } else {
    console.log('casync is not installed: apt-get install casync to compare');
  }
  console.log(`chunk inspect peak RSS: ${(ours.peakRssBytes / 1e6).toFixed(0)} MB`);
}

/** Random bytes behave like an xz-compressed squashfs: no repeats, no compressible runs. */
async function ensureRandomFile(path: string, size: number): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size === size) return;
  const { randomFillSync } = await import('node:crypto');
  const file = await open(`${path}.tmp`, 'w');
  const buffer = Buffer.allocUnsafe(16 * 1024 * 1024);
  for (let written = 0; written < size; written += buffer.length) {
    const n = Math.min(buffer.length, size - written);
    randomFillSync(buffer, 0, n);
    await file.write(buffer, 0, n);
  }
  await file.close();
  const { rename } = await import('node:fs/promises');
  await rename(`${path}.tmp`, path);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
