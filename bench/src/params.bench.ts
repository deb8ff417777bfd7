/**
 * Chooses the default content-defined chunking parameters by measurement: for real squashfs
 * image upgrades (images.ts), the bytes a host holding the old image must fetch to get the new
 * one, for a grid of min/avg/max. Run: node bench/dist/params.bench.js [--json] [--avg 16,64]
 */
import { parseArgs } from 'node:util';
import { chunkFile, validateParams, type ChunkParams, type ScannedChunk } from '@lxchunk/chunker';
import { ensureTestImages, IMAGE_PAIRS, SQUASHFS_PROFILES, type TestImageSet } from './images.js';
import {
  PER_CHUNK_OVERHEAD_BYTES,
  recommend,
  summarize,
  type GridSummary,
  type PairMeasurement,
  type Recommendation,
} from './recommend.js';
import { renderTable, SEPARATOR, type Row } from './text-table.js';
import { INDEX_ENTRY_BYTES, transferCost } from './transfer-cost.js';
import { formatBytes, formatCount, formatPercent, KiB, paramsLabel } from './units.js';
import { benchArgs } from './bench-args.js';

const USAGE = `usage: node bench/dist/params.bench.js [--json] [--avg KIB,KIB,...] [--source auto|debootstrap|host-usr-fallback]

  --avg     average chunk sizes to try, in KiB (default 4,8,16,32,64,128,256); min = avg/4, max = avg*4
  --json    print one JSON object with the raw numbers instead of tables
  --source  where the test trees come from (default auto: debootstrap, else this host's /usr)
Test images are cached in .bench-cache/ (or $LXCHUNK_BENCH_CACHE).`;

/** Past both ends of any plausible default, so the table shows where the byte-optimum lies. */
const DEFAULT_AVGS_KIB = [4, 8, 16, 32, 64, 128, 256];

/** The grid's shape: min and max a fixed ratio around the average, the ratio of today's DEFAULT_PARAMS. */
function gridParams(avgKiB: number): ChunkParams {
  const avg = avgKiB * KiB;
  return validateParams({ min: avg / 4, avg, max: avg * 4 });
}

function log(line: string): void {
  process.stderr.write(`[params] ${line}\n`);
}

async function measure(images: TestImageSet, grid: readonly ChunkParams[]): Promise<PairMeasurement[]> {
  const measurements: PairMeasurement[] = [];
  for (const params of grid) {
    log(`chunking ${images.images.length} images with min/avg/max ${paramsLabel(params)} KiB`);
    const chunks = new Map<string, readonly ScannedChunk[]>();
    for (const image of images.images) chunks.set(image.path, (await chunkFile(image.path, { params })).chunks);
    const chunksOf = (path: string): readonly ScannedChunk[] => {
      const found = chunks.get(path);
      if (found === undefined) throw new Error(`${path} was not chunked`);
      return found;
    };
    for (const pair of images.pairs) {
      measurements.push({
        params,
        profile: pair.profile,
        pair: pair.spec.name,
        cost: transferCost(chunksOf(pair.old.path), chunksOf(pair.new.path)),
      });
    }
  }
  return measurements;
}

function fallbackBanner(images: TestImageSet): string[] {
  if (images.source !== 'host-usr-fallback') return [];
  const bar = '!'.repeat(100);
  return [
    bar,
    '!!! FALLBACK: these images are NOT Debian builds. debootstrap could not be used, so the trees are copies of',
    "!!! this host's /usr with SYNTHETIC changes. The numbers are indicative only; do not choose defaults from them.",
    `!!! reason: ${images.fallbackReason ?? 'unknown'}`,
    bar,
  ];
}

function profileTable(measurements: readonly PairMeasurement[], profile: string): string {
  const rows: Row[] = [];
  for (const spec of IMAGE_PAIRS) {
    const forPair = measurements.filter((m) => m.profile === profile && m.pair === spec.name);
    if (rows.length) rows.push(SEPARATOR);
    forPair.forEach((m, i) => {
      const c = m.cost;
      rows.push([
        i === 0 ? spec.name : '',
        i === 0 ? formatBytes(c.newSize) : '',
        paramsLabel(m.params),
        formatCount(c.newChunks),
        formatCount(c.fetchedChunks),
        formatBytes(c.fetchedChunkBytes),
        formatBytes(c.indexBytes),
        formatBytes(c.totalBytes),
        formatPercent(c.totalBytes / c.newSize),
      ]);
    });
  }
  const right = 'right' as const;
  return renderTable(
    [
      { header: 'pair', align: 'left' },
      { header: 'new size', align: right },
      { header: 'min/avg/max KiB', align: right },
      { header: 'chunks(new)', align: right },
      { header: 'fetched chunks', align: right },
      { header: 'chunk bytes', align: right },
      { header: 'index bytes', align: right },
      { header: 'total fetched', align: right },
      { header: '% of new', align: right },
    ],
    rows,
  );
}

function summaryTable(summaries: readonly GridSummary[]): string {
  const right = 'right' as const;
  return renderTable(
    [
      { header: 'min/avg/max KiB', align: right },
      { header: 'mean % fetched', align: right },
      ...SQUASHFS_PROFILES.map((p) => ({ header: `% ${p.name}`, align: right })),
      { header: 'chunks/image', align: right },
      { header: 'fetched chunks/upgrade', align: right },
      { header: `% + ${PER_CHUNK_OVERHEAD_BYTES / KiB} KiB/fetched chunk`, align: right },
    ],
    summaries.map((s) => [
      paramsLabel(s.params),
      formatPercent(s.meanFetchedShare),
      ...SQUASHFS_PROFILES.map((p) => formatPercent(s.meanFetchedShareByProfile[p.name] ?? NaN)),
      formatCount(s.meanChunks),
      formatCount(s.meanFetchedChunks),
      formatPercent(s.meanEffectiveShare),
    ]),
  );
}

function report(
  images: TestImageSet,
  measurements: readonly PairMeasurement[],
  summaries: readonly GridSummary[],
  recommendation: Recommendation,
  secondsChunking: number,
): string {
  const out: string[] = [...fallbackBanner(images)];
  out.push(
    'Bytes a host holding OLD fetches to get NEW: the distinct chunks of NEW missing from OLD, plus',
    `NEW's index (${INDEX_ENTRY_BYTES} bytes per chunk). Grid: min = avg/4, max = avg*4.`,
    '',
    `Images: ${images.source === 'debootstrap' ? 'Debian bookworm minbase built with debootstrap' : "this host's /usr (FALLBACK)"}, cached in ${images.cacheDir}`,
  );
  for (const spec of IMAGE_PAIRS) out.push(`  pair ${spec.name} (${spec.old} → ${spec.new}): ${spec.description}`);
  for (const [version, tree] of Object.entries(images.trees)) {
    out.push(`  ${version}: ${tree.notes.join('; ')} (built ${tree.builtAt} in ${tree.buildSeconds} s)`);
  }
  const treeSeconds = Object.values(images.trees).reduce((sum, t) => sum + t.buildSeconds, 0);
  const imageSeconds = images.images.reduce((sum, i) => sum + i.buildSeconds, 0);
  out.push(
    `  building from scratch took ${(treeSeconds + imageSeconds).toFixed(0)} s (trees ${treeSeconds.toFixed(0)} s, ` +
      `mksquashfs ${imageSeconds.toFixed(0)} s); this run: ` +
      `${images.secondsBuilding ? `built for ${images.secondsBuilding.toFixed(0)} s` : 'all images from the cache'}, ` +
      `chunking ${secondsChunking.toFixed(1)} s`,
  );
  for (const profile of SQUASHFS_PROFILES) {
    out.push('', `== squashfs profile "${profile.name}": ${profile.description} ==`, profileTable(measurements, profile.name));
  }
  out.push('', '== mean over all pairs and both profiles ==', summaryTable(summaries));
  out.push('', `Recommendation: ${recommendation.reason}.`);
  out.push(...fallbackBanner(images));
  return out.join('\n');
}

function jsonReport(
  images: TestImageSet,
  grid: readonly ChunkParams[],
  measurements: readonly PairMeasurement[],
  summaries: readonly GridSummary[],
  recommendation: Recommendation,
  secondsChunking: number,
): unknown {
  return {
    source: images.source,
    ...(images.fallbackReason === undefined
      ? {}
      : { warning: 'FALLBACK images made of this host /usr with synthetic changes', fallbackReason: images.fallbackReason }),
    cacheDir: images.cacheDir,
    indexEntryBytes: INDEX_ENTRY_BYTES,
    secondsBuilding: images.secondsBuilding,
    secondsChunking,
    trees: images.trees,
    images: images.images,
    grid,
    measurements: measurements.map((m) => ({ profile: m.profile, pair: m.pair, params: m.params, ...m.cost })),
    summaries,
    recommendation,
  };
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: benchArgs(),
      options: {
        json: { type: 'boolean', default: false },
        avg: { type: 'string' },
        source: { type: 'string', default: 'auto' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const source = values.source;
  if (source !== 'auto' && source !== 'debootstrap' && source !== 'host-usr-fallback') {
    process.stderr.write(`--source must be auto, debootstrap or host-usr-fallback\n${USAGE}\n`);
    return 2;
  }
  const avgs = values.avg === undefined ? DEFAULT_AVGS_KIB : values.avg.split(',').map((v) => Number(v.trim()));
  const grid = avgs.map(gridParams);

  const images = await ensureTestImages({ source });
  const started = performance.now();
  const measurements = await measure(images, grid);
  const secondsChunking = Math.round((performance.now() - started) / 100) / 10;
  const summaries = summarize(measurements);
  const recommendation = recommend(measurements);

  if (values.json) {
    const json = jsonReport(images, grid, measurements, summaries, recommendation, secondsChunking);
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
  } else {
    process.stdout.write(report(images, measurements, summaries, recommendation, secondsChunking) + '\n');
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`params.bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
