/**
 * `pnpm bench:xz`: how much of a real xz squashfs image lxchunk can rebuild exactly from content,
 * and what re-encoding costs next to mksquashfs building the same image.
 *
 * On the Debian bookworm minbase `base` image (images.ts; the host's /usr when debootstrap cannot
 * run), stock distrobuilder options: every data, fragment and inode/directory metadata block is
 * decoded and findRecipe'd on every core (XzPool), which gives the per-kind reproduction counts
 * and the all-cores speed; a spread sample of blocks (--sample, default 16M of content) is then
 * re-encoded on one worker. mksquashfs is timed on the same tree with all cores and with
 * `-processors 1`. Wall and CPU seconds are both reported: the machine is shared, so wall time
 * moves with other people's load and CPU time is the steadier measure.
 * Run: node bench/dist/xz-rebuild.bench.js [--out DIR] [--sample SIZE] [--source auto|debootstrap|host-usr-fallback]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageXzBlocks, selfTest, XzPool, XZ_ENCODER, type XzImageBlock, type XzRecipe } from '@lxchunk/xz';
import { parseBenchArgs, parseSize } from './bench-args.js';
import { selfAndReapedChildrenCpuSeconds } from './cpu-accounting.js';
import { run } from './exec.js';
import { ensureTestImages, type TreeSource } from './images.js';
import { DISTROBUILDER_ARGS } from './squashfs.js';
import { renderTable, type Row } from './text-table.js';
import { formatBytes } from './units.js';

const USAGE = `usage: node bench/dist/xz-rebuild.bench.js [--out DIR] [--sample SIZE] [--source auto|debootstrap|host-usr-fallback]

  --out     where xz-rebuild.txt goes (default bench/results)
  --sample  content re-encoded on one worker, spread over the image (default 16M)
  --source  where the test tree comes from (default auto: debootstrap, else this host's /usr)`;

const MB = 1e6;

interface Timed {
  wall: number;
  cpu: number;
}

/** Wall and CPU seconds of `work`: this process's threads (the pool's workers) and the children it reaped. */
async function timed(work: () => Promise<unknown>): Promise<Timed> {
  const self0 = process.cpuUsage();
  const total0 = (await selfAndReapedChildrenCpuSeconds()) ?? 0;
  const t0 = performance.now();
  await work();
  const wall = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const total = (await selfAndReapedChildrenCpuSeconds()) ?? 0;
  // /proc counts in 10 ms ticks, process.cpuUsage in microseconds: take the larger of the two.
  return { wall, cpu: Math.max((self.user + self.system) / 1e6, total - total0) };
}

async function findAll(pool: XzPool, blocks: readonly XzImageBlock[]): Promise<Array<XzRecipe | undefined>> {
  return Promise.all(blocks.map((b) => pool.findRecipe(b.stored, b.content)));
}

/** Every k-th block, k chosen so the sample holds about `bytes` of content. */
function spread(blocks: readonly XzImageBlock[], bytes: number): XzImageBlock[] {
  const total = blocks.reduce((n, b) => n + b.content.length, 0);
  const step = Math.max(1, Math.floor(total / bytes));
  return blocks.filter((_, i) => i % step === 0);
}

function contentBytes(blocks: readonly XzImageBlock[]): number {
  return blocks.reduce((n, b) => n + b.content.length, 0);
}

function speedRow(what: string, bytes: number, t: Timed): string[] {
  return [what, formatBytes(bytes), t.wall.toFixed(1), (bytes / MB / t.wall).toFixed(2), t.cpu.toFixed(1), (bytes / MB / t.cpu).toFixed(2)];
}

async function main(): Promise<void> {
  const args = parseBenchArgs(['out', 'sample', 'source'], USAGE);
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const outDir = args.out ?? join(root, 'bench/results');
  const sampleBytes = parseSize(args.sample ?? '16M');
  const check = selfTest();
  if (!check.ok) throw new Error(`the xz self-test failed, nothing to measure: ${check.reason}`);

  const set = await ensureTestImages({ versions: ['base'], source: (args.source ?? 'auto') as TreeSource | 'auto' });
  const image = set.images.find((i) => i.profile === 'stock')!;
  const tree = join(set.cacheDir, set.source, 'trees', 'base');
  const load0 = loadavg()[0]!;

  const blocks: XzImageBlock[] = [];
  const readTime = await timed(async () => {
    for await (const item of imageXzBlocks(image.path)) blocks.push(item);
  });
  const compressed = blocks.filter((b) => b.block.compressed);

  const cores = availableParallelism();
  const poolAll = new XzPool();
  let recipes: Array<XzRecipe | undefined> = [];
  const allTime = await timed(async () => (recipes = await findAll(poolAll, compressed)));
  await poolAll.close();

  const sample = spread(compressed, sampleBytes);
  const poolOne = new XzPool({ threads: 1 });
  const oneTime = await timed(() => findAll(poolOne, sample));
  await poolOne.close();

  const scratch = await mkdtemp(join(tmpdir(), 'lxchunk-xz-bench-'));
  let mksAll: Timed;
  let mksOne: Timed;
  let hostXz: Timed;
  try {
    // What a native addon over the distribution's liblzma (-O2) would cost: the xz CLI, one
    // thread, raw LZMA2 with the same options over the same sample (one stream, not per block).
    const samplePath = join(scratch, 'sample.bin');
    await writeFile(samplePath, Buffer.concat(sample.map((b) => b.content)));
    hostXz = await timed(() => run('xz', ['--format=raw', '--lzma2=preset=6,dict=1MiB', '-T1', '-c', samplePath]));
    mksAll = await timed(() => run('mksquashfs', [tree, join(scratch, 'all.squashfs'), ...DISTROBUILDER_ARGS]));
    mksOne = await timed(() => run('mksquashfs', [tree, join(scratch, 'one.squashfs'), ...DISTROBUILDER_ARGS, '-processors', '1']));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const load1 = loadavg()[0]!;
  const xzVersion = /liblzma (\S+)/.exec(await run('xz', ['--version']))?.[1] ?? '?';

  const kindRows: Row[] = (['data', 'fragment', 'inode-table', 'directory-table'] as const).map((kind) => {
    const ofKind = blocks.filter((b) => b.block.kind === kind);
    const comp = ofKind.filter((b) => b.block.compressed);
    const reproduced = compressed.filter((b, i) => b.block.kind === kind && recipes[i]);
    const filters = [...new Set(compressed.flatMap((b, i) => (b.block.kind === kind && recipes[i] ? [recipes[i]!.filter] : [])))].join(',');
    return [kind, String(ofKind.length), String(ofKind.length - comp.length), String(comp.length), `${reproduced.length}/${comp.length}`, formatBytes(contentBytes(comp)), filters || '-'];
  });
  const imageContent = contentBytes(compressed);
  const reproducedAll = recipes.filter(Boolean).length;
  const lines = [
    `xz block rebuilding (pnpm bench:xz), ${new Date().toISOString()}`,
    `image: ${image.path.replace(root + '/', '')} (${set.source}${set.fallbackReason ? `, fallback: ${set.fallbackReason.split('\n')[0]}` : ''}), ${formatBytes(image.size)}, stock distrobuilder options`,
    `encoder: ${XZ_ENCODER.id} via npm lzma-native (prebuilt N-API binary); self-test ok; ${cores} cores; load average ${load0.toFixed(1)} at start, ${load1.toFixed(1)} at end (shared machine)`,
    '',
    renderTable(
      [
        { header: 'block kind', align: 'left' },
        { header: 'blocks', align: 'right' },
        { header: 'stored raw', align: 'right' },
        { header: 'xz', align: 'right' },
        { header: 'reproduced', align: 'right' },
        { header: 'xz content', align: 'right' },
        { header: 'filters', align: 'left' },
      ],
      kindRows,
    ),
    `all kinds: ${reproducedAll}/${compressed.length} xz blocks reproduced byte for byte (${formatBytes(imageContent)} of content)`,
    '',
    renderTable(
      [
        { header: 'work', align: 'left' },
        { header: 'content', align: 'right' },
        { header: 'wall s', align: 'right' },
        { header: 'MB/s wall', align: 'right' },
        { header: 'CPU s', align: 'right' },
        { header: 'MB/s per CPU s', align: 'right' },
      ],
      [
        speedRow('read + decode every block (xz-embedded wasm, main thread)', contentBytes(blocks), readTime),
        speedRow(`findRecipe, all ${cores} workers, every xz block`, imageContent, allTime),
        speedRow(`findRecipe, 1 worker, ${sample.length} spread blocks`, contentBytes(sample), oneTime),
        speedRow(`host xz ${xzVersion} CLI, 1 thread, raw LZMA2 over the same sample`, contentBytes(sample), hostXz),
        speedRow(`mksquashfs whole image, ${cores} cores (default)`, imageContent, mksAll),
        speedRow('mksquashfs whole image, -processors 1', imageContent, mksOne),
      ],
    ),
    '',
    'ratios (content MB/s, so the 1-worker sample compares with the whole image):',
    `  re-encode all cores vs mksquashfs all cores, wall: ${(allTime.wall / mksAll.wall).toFixed(2)}x the time; CPU: ${(allTime.cpu / mksAll.cpu).toFixed(2)}x`,
    `  re-encode 1 worker vs mksquashfs -processors 1, per MB wall: ${(oneTime.wall / contentBytes(sample) / (mksOne.wall / imageContent)).toFixed(2)}x; per MB CPU: ${(oneTime.cpu / contentBytes(sample) / (mksOne.cpu / imageContent)).toFixed(2)}x`,
    `  lzma-native (liblzma 5.2.3 prebuilt) vs host xz ${xzVersion}, 1 thread, per MB CPU: ${(oneTime.cpu / hostXz.cpu).toFixed(2)}x`,
    `  all cores vs 1 worker, MB/s wall: ${(imageContent / allTime.wall / (contentBytes(sample) / oneTime.wall)).toFixed(2)}x`,
    `  rebuilding the whole image at all-cores speed takes ${allTime.wall.toFixed(0)} s; fetching its ${formatBytes(image.size)} takes ${((image.size * 8) / 100e6).toFixed(1)} s at 100 Mbit/s, ${((image.size * 8) / 10e6).toFixed(0)} s at 10 Mbit/s`,
  ];
  const text = lines.join('\n') + '\n';
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'xz-rebuild.txt'), text);
  if (args.json) console.log(JSON.stringify({ reproducedAll, total: compressed.length, readTime, allTime, oneTime, mksAll, mksOne, imageContent, sampleContent: contentBytes(sample) }));
  else process.stdout.write(text);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
