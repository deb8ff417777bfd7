/**
 * `pnpm bench:transfer`: bytes on the wire to update a host, lxchunk against LXD's xdelta3 deltas
 * and casync, on real Debian images (images.ts: debootstrap bookworm minbase and the versions users
 * really produce), each packed with distrobuilder's mksquashfs options and with -no-fragments.
 *
 * For every case a host holds one image and wants another. lxchunk: every version is pushed to a
 * real `chunk serve`; the host pulls the held image into a fresh cache (as it would have got it),
 * then `chunk pull --json` of the new one with that cache and the held image as seed; its
 * bytesFetched counts everything received (the manifest, compressed against the held image's,
 * with both indexes, batch framing, chunks).
 * Beside it, from the same files in the same run: `xdelta3 -e -9` of the pair (what LXD's
 * simplestreams delta costs, or the full image where no delta applies), casync's new chunk files
 * plus its index (same average chunk size), and `chunk estimate --chunking cdc` (lxchunk without
 * squashfs-aware cuts).
 * Run: node bench/dist/transfer.bench.js [--json] [--out DIR] [--source auto|debootstrap|host-usr-fallback]
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderBarChartSvg } from './bar-chart-svg.js';
import { createToken, startChunkServer } from './chunk-server-process.js';
import { CleanupStack } from './cleanup-stack.js';
import type { PullJson as PullOutput, PushJson as PushOutput } from './cli-json.js';
import { run } from './exec.js';
import { squashfsUnitBound } from './squashfs-unit-bound.js';
import { ensureTestImages, SQUASHFS_PROFILES, type ProfileName, type TestImage, type TestImageSet, type TreeVersion } from './images.js';
import { which } from './measure.js';
import { writeMetadataTarball } from './metadata-tarball.js';
import { renderTable, SEPARATOR, type Row } from './text-table.js';
import { formatBytes, formatPercent, KiB } from './units.js';
import { benchArgs } from './bench-args.js';

const USAGE = `usage: node bench/dist/transfer.bench.js [--json] [--out DIR] [--source auto|debootstrap|host-usr-fallback]

  --out     where the table (transfer.txt), raw numbers (transfer.json) and plot (transfer.svg) go
            (default bench/results)
  --json    print the raw numbers as one JSON object instead of the table
  --source  where the test trees come from (default auto: debootstrap, else this host's /usr)
Test images are cached in .bench-cache/ (or $LXCHUNK_BENCH_CACHE); building them needs root and a
Debian mirror the first time.`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const chunkBin = join(root, 'bin/chunk');
/** The issue's targets: with -no-fragments at most this times xdelta3's delta; stock, below casync. */
const XDELTA_TARGET = 1.05;
/** casync at our average chunk size, so the comparison is about where cuts fall, not their size. */
const CASYNC_AVG = 32 * KiB;

interface CaseSpec {
  readonly name: string;
  readonly have: TreeVersion;
  readonly want: TreeVersion;
  /**
   * The build LXD's delta would start from. LXD publishes deltas from the previous builds of one
   * image only: a host holding anything else downloads the whole image.
   */
  readonly deltaFrom: TreeVersion | 'none';
  readonly description: string;
}

const CASES: readonly CaseSpec[] = [
  { name: 'rebuild', have: 'base', want: 'rebuild', deltaFrom: 'base', description: 'the same packages, built again' },
  { name: 'update', have: 'base', want: 'update', deltaFrom: 'base', description: 'the next nightly: six package updates' },
  { name: 'add-packages', have: 'base', want: 'add-packages', deltaFrom: 'base', description: 'the recipe gained four packages (28 with dependencies)' },
  {
    name: 'stale host',
    have: 'base',
    want: 'update',
    deltaFrom: 'rebuild',
    description: 'two builds behind: base → rebuild → update; the published delta starts at rebuild',
  },
  {
    name: 'other variant',
    have: 'add-packages',
    want: 'update',
    deltaFrom: 'none',
    description: 'the host runs the bigger variant and now wants the minimal nightly',
  },
];

interface CaseResult {
  readonly profile: ProfileName;
  readonly case: string;
  readonly description: string;
  readonly fullBytes: number;
  /** What LXD transfers: the delta when the host holds its base, else the full image. */
  readonly lxdBytes: number;
  /** The xdelta3 delta between the held and the wanted image, whether LXD could use it or not. */
  readonly xdeltaPairBytes: number;
  readonly xdeltaApplies: boolean;
  readonly casyncBytes: number | null;
  /** `chunk pull` with the held image as seed: everything received. */
  readonly lxchunkBytes: number;
  readonly lxchunkChunksFetched: number;
  /** `chunk estimate --chunking cdc`: the same pull with plain CDC cuts. */
  readonly lxchunkCdcBytes: number;
  /** The squashfs units of the new image the held one lacks (squashfsUnitBound) plus the metadata tarball. */
  readonly unitBoundBytes: number;
}

function log(line: string): void {
  process.stderr.write(`[transfer] ${line}\n`);
}

async function chunkJson<T>(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  return JSON.parse(await run(chunkBin, args, { env: { ...process.env, ...env } })) as T;
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

async function xdeltaBytes(from: string, to: string, scratch: string): Promise<number> {
  const out = join(scratch, 'delta.vcdiff');
  await run('xdelta3', ['-e', '-9', '-f', '-s', from, to, out]);
  const size = await fileSize(out);
  await rm(out, { force: true });
  return size;
}

/** casync's chunk files, as stored (compressed), under a store directory. */
async function casyncChunks(store: string): Promise<Map<string, number>> {
  const chunks = new Map<string, number>();
  for (const fan of await readdir(store)) {
    for (const name of await readdir(join(store, fan))) {
      if (name.endsWith('.cacnk')) chunks.set(name, await fileSize(join(store, fan, name)));
    }
  }
  return chunks;
}

/** The chunk files `want` adds to a store that holds `have`'s, plus its index: what casync fetches. */
async function casyncBytes(casync: string, have: string, want: string, scratch: string): Promise<number> {
  const dir = join(scratch, 'casync');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const chunkSize = `--chunk-size=${CASYNC_AVG}`;
  await run(casync, ['make', `--store=${join(dir, 'have')}`, chunkSize, join(dir, 'have.caibx'), have]);
  await run(casync, ['make', `--store=${join(dir, 'want')}`, chunkSize, join(dir, 'want.caibx'), want]);
  const held = await casyncChunks(join(dir, 'have'));
  let bytes = await fileSize(join(dir, 'want.caibx'));
  for (const [name, size] of await casyncChunks(join(dir, 'want'))) if (!held.has(name)) bytes += size;
  await rm(dir, { recursive: true, force: true });
  return bytes;
}

interface Pushed {
  readonly image: TestImage;
  readonly metadata: string;
  readonly fingerprint: string;
}

async function measureProfile(
  images: TestImageSet,
  profile: ProfileName,
  env: { push: NodeJS.ProcessEnv; read: NodeJS.ProcessEnv },
  scratch: string,
  casync: string | undefined,
): Promise<CaseResult[]> {
  const pushed = new Map<TreeVersion, Pushed>();
  for (const image of images.images.filter((i) => i.profile === profile)) {
    const metadata = join(scratch, `${image.version}.${profile}.metadata.tar.xz`);
    await writeMetadataTarball(metadata, { os: 'debian', release: 'bookworm', serial: image.version });
    log(`push ${image.version} (${profile})`);
    const out = await chunkJson<PushOutput>(['push', '--json', metadata, image.path], env.push);
    pushed.set(image.version, { image, metadata, fingerprint: out.fingerprint });
  }
  const get = (version: TreeVersion): Pushed => {
    const found = pushed.get(version);
    if (!found) throw new Error(`no ${version} image for the ${profile} profile`);
    return found;
  };

  const results: CaseResult[] = [];
  for (const spec of CASES) {
    const have = get(spec.have);
    const want = get(spec.want);
    log(`${profile}: ${spec.name} (${spec.have} → ${spec.want})`);
    const out = join(scratch, 'pulled');
    const cache = join(scratch, 'host-cache');
    await rm(out, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
    // The host got the image it holds through lxchunk: its cache keeps that manifest, which the
    // server compresses the new one against.
    await chunkJson<PullOutput>(['pull', '--json', have.fingerprint, '--out', out, '--cache', cache], env.read);
    await rm(out, { recursive: true, force: true });
    const pull = await chunkJson<PullOutput>(
      ['pull', '--json', want.fingerprint, '--out', out, '--cache', cache, '--seed', have.image.path, '--seed', have.metadata],
      env.read,
    );
    if (pull.manifestBase !== have.fingerprint) throw new Error(`the pull compressed its manifest against ${pull.manifestBase ?? 'nothing'}, not the held image`);
    if (pull.fingerprint !== want.fingerprint) throw new Error(`pulled ${pull.fingerprint}, wanted ${want.fingerprint}`);
    await rm(out, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
    const cdc = await chunkJson<{ bytesFetched: number }>(['estimate', '--json', '--chunking', 'cdc', '--seed', have.image.path, want.image.path]);
    // The metadata tarball travels too: a few hundred bytes, fetched whole by every tool.
    const metadataBytes = await fileSize(want.metadata);
    const fullBytes = want.image.size + metadataBytes;
    const xdeltaPairBytes = (await xdeltaBytes(have.image.path, want.image.path, scratch)) + metadataBytes;
    const xdeltaApplies = spec.deltaFrom === spec.have;
    results.push({
      profile,
      case: spec.name,
      description: spec.description,
      fullBytes,
      lxdBytes: xdeltaApplies ? xdeltaPairBytes : fullBytes,
      xdeltaPairBytes,
      xdeltaApplies,
      casyncBytes: casync ? (await casyncBytes(casync, have.image.path, want.image.path, scratch)) + metadataBytes : null,
      lxchunkBytes: pull.bytesFetched,
      lxchunkChunksFetched: pull.chunksFetched,
      lxchunkCdcBytes: cdc.bytesFetched + metadataBytes,
      unitBoundBytes: (await squashfsUnitBound(have.image.path, want.image.path)) + metadataBytes,
    });
  }
  return results;
}

function verdict(result: CaseResult): string {
  if (result.profile === 'no-fragments') {
    if (!result.xdeltaApplies) return 'no delta: beats full';
    const ratio = result.lxchunkBytes / result.lxdBytes;
    if (ratio <= XDELTA_TARGET) return `met (≤ ${XDELTA_TARGET}× xdelta3)`;
    const bound = result.unitBoundBytes / result.lxdBytes;
    return `NOT met (> ${XDELTA_TARGET}× xdelta3${bound > XDELTA_TARGET ? `; whole units ${bound.toFixed(2)}×` : ''})`;
  }
  if (result.casyncBytes === null) return 'casync missing';
  return result.lxchunkBytes < result.casyncBytes ? 'met (< casync)' : 'NOT met (≥ casync)';
}

function renderResults(results: readonly CaseResult[], images: TestImageSet): string {
  const share = (bytes: number, result: CaseResult) => formatPercent(bytes / result.fullBytes);
  const rows: Row[] = [];
  for (const profile of SQUASHFS_PROFILES) {
    if (rows.length) rows.push(SEPARATOR);
    for (const r of results.filter((x) => x.profile === profile.name)) {
      rows.push([
        profile.name,
        r.case,
        formatBytes(r.fullBytes),
        r.xdeltaApplies ? `${formatBytes(r.lxdBytes)} ${share(r.lxdBytes, r)}` : `full (pair: ${share(r.xdeltaPairBytes, r)})`,
        r.casyncBytes === null ? 'n/a' : `${formatBytes(r.casyncBytes)} ${share(r.casyncBytes, r)}`,
        `${formatBytes(r.lxchunkCdcBytes)} ${share(r.lxchunkCdcBytes, r)}`,
        `${formatBytes(r.lxchunkBytes)} ${share(r.lxchunkBytes, r)}`,
        `${formatBytes(r.unitBoundBytes)} ${share(r.unitBoundBytes, r)}`,
        `${(r.lxchunkBytes / r.lxdBytes).toFixed(2)}×`,
        r.casyncBytes === null ? 'n/a' : `${(r.lxchunkBytes / r.casyncBytes).toFixed(2)}×`,
        verdict(r),
      ]);
    }
  }
  const table = renderTable(
    [
      { header: 'profile', align: 'left' },
      { header: 'case', align: 'left' },
      { header: 'full', align: 'right' },
      { header: 'LXD (xdelta3 -9)', align: 'right' },
      { header: 'casync 32K', align: 'right' },
      { header: 'lxchunk cdc', align: 'right' },
      { header: 'lxchunk', align: 'right' },
      { header: 'whole units', align: 'right' },
      { header: '÷ LXD', align: 'right' },
      { header: '÷ casync', align: 'right' },
      { header: 'target', align: 'left' },
    ],
    rows,
  );
  const sizes = SQUASHFS_PROFILES.map((profile) => {
    const image = images.images.find((i) => i.profile === profile.name && i.version === 'update')!;
    return `${profile.name}: update image ${formatBytes(image.size)}`;
  });
  return [
    `Bytes a host receives to go from the image it holds to the new one (Debian bookworm minbase, ${images.source}).`,
    'lxchunk = `chunk pull` from a real server by a host that pulled the held image with lxchunk (manifest sent against',
    'that one) and seeds with it: everything received, manifest with both indexes, framing, chunks.',
    'LXD = the xdelta3 -e -9 delta when the host holds the build the delta starts from, else the full image.',
    `casync 32K = new .cacnk files (as stored, compressed) + .caibx; lxchunk cdc = \`chunk estimate --chunking cdc\`.`,
    'whole units = the new image\'s squashfs units (blocks, metadata blocks, tables) the held image lacks byte for byte,',
    'with no index: what matching only whole units fetches. Less takes matches inside changed compressed blocks: CDC finds',
    'shared prefixes of large blocks (stock\'s 1 MiB fragment blocks), xdelta3 also the short ones no chunk can pay for.',
    `Targets: no-fragments ≤ ${XDELTA_TARGET}× xdelta3 where a delta applies; stock < casync. ${sizes.join('; ')}.`,
    '',
    table,
    '',
    ...CASES.map((c) => `${c.name}: ${c.description}`),
  ].join('\n');
}

function renderPlot(results: readonly CaseResult[], images: TestImageSet): string {
  const percent = (bytes: number | null, r: CaseResult) => (bytes === null ? null : (100 * bytes) / r.fullBytes);
  return renderBarChartSvg({
    title: 'Bytes to update a host, % of the new image (lower is better)',
    subtitle: `Debian bookworm minbase (${images.source}); LXD = xdelta3 -9 delta, or the full image when no delta applies`,
    yLabel: '% of the new image received',
    series: [
      { name: 'LXD (xdelta3 or full)', color: '#9e9e9e' },
      { name: 'casync 32K', color: '#f0a030' },
      { name: 'lxchunk, plain CDC', color: '#90b8e0' },
      { name: 'lxchunk (squashfs-aware)', color: '#1f5fa8' },
      { name: 'whole squashfs units (no index)', color: '#c8d8c0' },
    ],
    groups: results.map((r) => ({
      label: `${r.profile}: ${r.case}`,
      values: [percent(r.lxdBytes, r), percent(r.casyncBytes, r), percent(r.lxchunkCdcBytes, r), percent(r.lxchunkBytes, r), percent(r.unitBoundBytes, r)],
    })),
    format: (value) => `${value.toFixed(value < 10 ? 1 : 0)}%`,
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: benchArgs(),
    options: {
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      source: { type: 'string', default: 'auto' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const source = values.source as 'auto' | 'debootstrap' | 'host-usr-fallback';
  if (!['auto', 'debootstrap', 'host-usr-fallback'].includes(source)) throw new Error(`--source: unknown source ${source}\n${USAGE}`);
  for (const tool of ['xdelta3', 'mksquashfs']) {
    if (!which(tool)) throw new Error(`${tool} is missing: run bin/setup (apt-get install ${tool === 'mksquashfs' ? 'squashfs-tools' : tool})`);
  }
  const casync = which('casync');
  if (!casync) log('casync is not installed: its column stays empty (apt-get install casync)');
  const outDir = resolve(values.out ?? join(root, 'bench/results'));

  const images = await ensureTestImages({ source });
  const cleanup = new CleanupStack();
  const removeSignals = cleanup.onSignals();
  const scratch = join(images.cacheDir, `transfer-${process.pid}`);
  try {
    await mkdir(scratch, { recursive: true });
    cleanup.add(`remove ${scratch}`, () => rm(scratch, { recursive: true, force: true }));
    const results: CaseResult[] = [];
    for (const profile of SQUASHFS_PROFILES) {
      // A fresh server per profile: the two profiles share no chunks, and neither should pay for the other.
      const dataDir = join(scratch, `server-${profile.name}`);
      await mkdir(dataDir, { recursive: true });
      const server = await startChunkServer({ root, dataDir });
      const stop = cleanup.add('stop chunk serve', () => server.stop());
      const env = {
        push: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await createToken(root, dataDir, 'ci', 'push') },
        read: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await createToken(root, dataDir, 'host', 'read') },
      };
      results.push(...(await measureProfile(images, profile.name, env, scratch, casync)));
      await stop();
    }
    const text = renderResults(results, images);
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'transfer.txt'), `${text}\n`);
    await writeFile(join(outDir, 'transfer.json'), `${JSON.stringify({ source: images.source, results }, null, 2)}\n`);
    await writeFile(join(outDir, 'transfer.svg'), renderPlot(results, images));
    if (values.json) console.log(JSON.stringify({ source: images.source, results }, null, 2));
    else console.log(`${text}\n\nwritten: ${join(outDir, 'transfer.txt')}, transfer.json, transfer.svg (the plot)`);
  } finally {
    removeSignals();
    await cleanup.runAll();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:transfer failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
