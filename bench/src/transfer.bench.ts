/**
 * `pnpm bench:transfer`: bytes on the wire and wall time to update a host, lxchunk against LXD's
 * xdelta3 deltas and casync, on real Debian images (images.ts: debootstrap bookworm minbase and the
 * versions users really produce), each packed with distrobuilder's mksquashfs options and with
 * -no-fragments.
 *
 * For every case a host holds one image and wants another. lxchunk: every version is pushed to a
 * real `chunk serve`; the host pulls the held image into a fresh cache (as it would have got it),
 * then `chunk pull --json` of the new one with (a copy of) that cache and the held image as seed;
 * its bytesFetched counts everything received (the manifest, compressed against the held image's,
 * with its indexes, batch framing, chunks). Twice with --no-deltas: `--prefer time` (compressed
 * chunks only, no re-encoding) and `--prefer bytes` (xz blocks rebuilt from content chunks wherever
 * that costs fewer bytes); then both again with chunks as deltas (the product default: each missing
 * chunk names the seed chunks it replaced, the server may answer a zstd delta against them), with
 * the server's delta counters (/metrics) before and after each. The server starts every case with
 * an empty delta cache; the stock update's bytes pull with deltas runs once more, against the cache.
 * Beside it, from the same files in the same run: `xdelta3 -e -9` of the pair (what LXD's
 * simplestreams delta costs, or the full image where no delta applies), casync's new chunk files
 * plus its index (same average chunk size), `chunk estimate --chunking cdc --no-deltas` (lxchunk
 * without squashfs-aware cuts, as the time pull without deltas), and the content floor: `xdelta3 -e -9` between uncompressed squashfs
 * images of the same two trees, then `xz -9` of that delta.
 * Wall time, for the cases of --timed, at each link rate of --rates: the real `chunk pull`
 * processes (--prefer time, bytes and auto, deltas on) through a throttling proxy in front of the server;
 * the full download and LXD's path computed (bytes / rate, plus the measured `xdelta3 -d`).
 * Push cost: CPU (user + sys, worker threads included) of each `chunk push` next to that of a
 * fresh mksquashfs of the same tree with the profile's options.
 * Stock LXD clients (unless --no-lxd-clients), for every case, from the same server: the LXD
 * protocol's /1.0/images/FP/export (the whole image) and simplestreams (images.json, lxd.tar.xz and
 * the server's xdelta3 delta from the held build, or root.squashfs), bytes received and as the
 * server's lxchunk_bytes_served_total counted them, every file verified (lxd-clients.ts).
 * Run: node bench/dist/transfer.bench.js [--json] [--out DIR] [--source auto|debootstrap|host-usr-fallback]
 *        [--timed all|PROFILE:CASE,...] [--rates MBIT,...] [--runs N] [--cases all|PROFILE:CASE,...] [--no-lxd-clients]
 */
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderBarChartSvg } from './bar-chart-svg.js';
import { benchArgs, positive } from './bench-args.js';
import { cachedBuild, type CacheRecord } from './build-cache.js';
import { createToken, startChunkServer, type ChunkServerProcess } from './chunk-server-process.js';
import { CleanupStack } from './cleanup-stack.js';
import type { PullJson as PullOutput, PushJson as PushOutput } from './cli-json.js';
import { run } from './exec.js';
import { ensureTestImages, SQUASHFS_PROFILES, type ProfileName, type TestImage, type TestImageSet, type TreeVersion } from './images.js';
import { which } from './measure.js';
import { writeMetadataTarball } from './metadata-tarball.js';
import { deltaStatsBetween, msPerComputedDelta, scrapeMetrics, type DeltaServerStats, type MetricSamples } from './delta-metrics.js';
import { deleteAlias, measureLxdClients, type LxdClientCosts } from './lxd-clients.js';
import { processCpuSeconds } from './process-cpu.js';
import { DISTROBUILDER_ARGS } from './squashfs.js';
import { squashfsUnitBound } from './squashfs-unit-bound.js';
import { renderTable, SEPARATOR, type Row } from './text-table.js';
import { startThrottleProxy } from './throttle-proxy.js';
import { runTimed } from './timed-run.js';
import { formatBytes, formatPercent, KiB } from './units.js';

/** The cases whose wall time is measured unless --timed says otherwise. */
const DEFAULT_TIMED = 'stock:rebuild,stock:update,stock:add-packages,no-fragments:update';

const USAGE = `usage: node bench/dist/transfer.bench.js [--json] [--out DIR] [--source auto|debootstrap|host-usr-fallback]
                                         [--timed all|PROFILE:CASE,...] [--rates MBIT,...] [--runs N]
                                         [--cases all|PROFILE:CASE,...] [--no-lxd-clients]

  --out     where the table (transfer.txt), raw numbers (transfer.json) and plot (transfer.svg) go
            (default bench/results)
  --json    print the raw numbers as one JSON object instead of the table
  --source  where the test trees come from (default auto: debootstrap, else this host's /usr)
  --timed   the cases whose update wall time is measured through a throttled link, with deltas
            on (default ${DEFAULT_TIMED};
            'all', or none with '')
  --rates   the simulated link rates in Mbit/s (default 10,100)
  --runs    timed pulls per mode, case and rate; the median is reported (default 3)
  --cases   the cases measured (default all; e.g. stock:update,stock:rebuild): a profile with none
            chosen is not pushed at all
  --no-lxd-clients
            skip what stock LXD clients cost for each case (the LXD protocol's export and
            simplestreams with its xdelta3 delta, through the same server: a delta is made per case)
Every case pulls four times unthrottled: --prefer time and bytes with --no-deltas (the BYTES and
content tables), and again with deltas (the Deltas table, with the server's /metrics delta counters).
Test images are cached in .bench-cache/ (or $LXCHUNK_BENCH_CACHE); building them needs root and a
Debian mirror the first time.`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const chunkBin = join(root, 'bin/chunk');
/** The issue's older target for the compressed path: with -no-fragments at most this times xdelta3's delta; stock, below casync. */
const XDELTA_TARGET = 1.05;
/** casync at our average chunk size, so the comparison is about where cuts fall, not their size. */
const CASYNC_AVG = 32 * KiB;
/** The content domain's targets (issue): `--prefer bytes` against the xdelta3 delta, stock profile. */
const CONTENT_TARGETS: ReadonlyArray<{ case: string; ratio: number }> = [
  { case: 'update', ratio: 0.85 },
  { case: 'rebuild', ratio: 1.0 },
  { case: 'add-packages', ratio: 0.8 },
];
/**
 * The chunks-as-deltas targets (issue): `--prefer bytes` with deltas (the product default), index
 * and manifest included, against the xdelta3 delta. Stale host and other variant: report only.
 */
const DELTA_TARGETS: ReadonlyArray<{ profile: ProfileName; case: string; ratio: number }> = [
  { profile: 'stock', case: 'update', ratio: 0.5 },
  { profile: 'stock', case: 'rebuild', ratio: 0.5 },
  { profile: 'stock', case: 'add-packages', ratio: 0.75 },
  { profile: 'no-fragments', case: 'update', ratio: 0.5 },
];
/** The case whose bytes pull with deltas runs again, to show the server's delta cache. */
const CACHED_CASE = { profile: 'stock' as ProfileName, case: 'update' };
/** `--prefer auto` may be this much slower than the better of time and bytes. */
const AUTO_SLACK = 1.1;
/** Push CPU at most this times mksquashfs's for the same image. */
const PUSH_CPU_TARGET = 2;
const PREFERENCES = ['time', 'bytes', 'auto'] as const;
type Prefer = (typeof PREFERENCES)[number];

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

/** What one `chunk pull --json` reported, and what it cost this machine. */
interface PullSummary {
  readonly bytesFetched: number;
  /** Of bytesFetched: the manifest with its indexes (chunk index and content index). */
  readonly manifestBytes: number;
  readonly chunksFetched: number;
  readonly blocksRebuilt: number;
  readonly rebuildCpuSeconds: number;
  readonly bytesRebuilt: number;
  readonly contentChunksFetched: number;
  /** Chunks that came as deltas against the seed chunks they replaced (0 with --no-deltas). */
  readonly chunksAsDeltas: number;
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  /** The machine's 1-minute load average when the pull started: other work slows wall time. */
  readonly loadAverage: number;
}

/** An unthrottled pull straight from the server, with what the server did meanwhile. */
interface ServedPull extends PullSummary {
  readonly deltas: boolean;
  /** The server's delta counters (/metrics), after minus before the pull. */
  readonly server: DeltaServerStats;
  /** User + system CPU of the server process during the pull; null without /proc. */
  readonly serverCpuSeconds: number | null;
  /** What the server counted as written for the pull (lxchunk_bytes_served_total{protocol="lxchunk"}: headers included). */
  readonly wireBytes: number;
}

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
  /** `chunk pull --prefer time --no-deltas` with the held image as seed: everything received (the compressed path). */
  readonly lxchunkBytes: number;
  readonly lxchunkChunksFetched: number;
  readonly pullTime: ServedPull;
  /** `chunk pull --prefer bytes --no-deltas`: xz blocks rebuilt from content where that fetches fewer bytes. */
  readonly pullBytes: ServedPull;
  /** `chunk pull --prefer time` with deltas (the default), after pullBytesDeltas. */
  readonly pullTimeDeltas: ServedPull;
  /** `chunk pull --prefer bytes` with deltas: the case's first pull with deltas, on an empty delta cache. */
  readonly pullBytesDeltas: ServedPull;
  /** The same pull as pullBytesDeltas once more, against the server's delta cache (CACHED_CASE only). */
  readonly pullBytesDeltasCached: ServedPull | null;
  /** `chunk estimate --chunking cdc --no-deltas`: the time pull with plain CDC cuts. */
  readonly lxchunkCdcBytes: number;
  /** The squashfs units of the new image the held one lacks (squashfsUnitBound) plus the metadata tarball. */
  readonly unitBoundBytes: number;
  /** xz -9 of xdelta3 -9 between uncompressed squashfs images of the two trees, plus the metadata tarball. */
  readonly contentFloorBytes: number;
  /** The xdelta3 delta of the uncompressed pair before xz. */
  readonly contentFloorRawDeltaBytes: number;
  /** The same update served to stock LXD clients by the same server (null with --no-lxd-clients). */
  readonly lxdClients: LxdClientCosts | null;
}

interface RateTiming {
  readonly mbitPerSecond: number;
  /** Computed: the full image and metadata at the link rate. */
  readonly fullSeconds: number;
  /** Computed: LXD's download at the link rate, plus the measured `xdelta3 -d` when a delta applies. */
  readonly lxdSeconds: number;
  readonly lxdDecodeSeconds: number;
  /** Measured: the real pulls through the throttled link (median of --runs). */
  readonly pulls: Readonly<Record<Prefer, PullSummary>>;
}

interface CaseTiming {
  readonly profile: ProfileName;
  readonly case: string;
  readonly rates: readonly RateTiming[];
}

interface PushCost {
  readonly profile: ProfileName;
  readonly version: TreeVersion;
  readonly imageBytes: number;
  readonly pushWallSeconds: number;
  readonly pushCpuSeconds: number;
  /** The same push again with --no-content (the image is stored: scanning and hashing only). */
  readonly noContentPushCpuSeconds: number;
  /**
   * The push's own content.cpuSeconds: the CPU time of its re-encoding jobs, read from each worker
   * thread's own clock (part of pushCpuSeconds, which also counts decoding, hashing and I/O).
   */
  readonly contentCpuSeconds: number | null;
  readonly blocksRebuilt: number | null;
  readonly blocksKept: number | null;
  readonly contentBytes: number | null;
  readonly mksquashfsWallSeconds: number;
  readonly mksquashfsCpuSeconds: number;
  /**
   * The same image pushed under the CI alias to a second server, in build order (base, rebuild,
   * update, add-packages), so each push may reuse the recipes of the image the alias pointed at.
   */
  readonly aliasPushCpuSeconds: number;
  readonly aliasPushWallSeconds: number;
  readonly aliasBlocksReused: number | null;
  /** The machine's 1-minute load average when the push started. */
  readonly loadAverage: number;
}

interface TargetResult {
  readonly group: string;
  readonly what: string;
  readonly value: string;
  readonly limit: string;
  readonly met: boolean;
  /** How far from the limit: negative = under it (met), positive = over (missed). */
  readonly margin: string;
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

/**
 * `xdelta3 -e -9` of a pair: the delta's size, and (when asked) the wall time of `xdelta3 -d`
 * applying it to the held image, as a host on LXD's path would.
 */
async function xdeltaPair(from: string, to: string, scratch: string, timeDecode: boolean): Promise<{ bytes: number; decodeSeconds: number }> {
  const delta = join(scratch, 'delta.vcdiff');
  const decoded = join(scratch, 'delta.decoded');
  try {
    await run('xdelta3', ['-e', '-9', '-f', '-s', from, to, delta]);
    const bytes = await fileSize(delta);
    const decodeSeconds = timeDecode ? (await runTimed('xdelta3', ['-d', '-f', '-s', from, delta, decoded])).wallSeconds : 0;
    return { bytes, decodeSeconds };
  } finally {
    await rm(delta, { force: true });
    await rm(decoded, { force: true });
  }
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

/** No compression anywhere: data, fragments, inode and id tables, xattrs. */
const UNCOMPRESSED_ARGS = ['-noI', '-noD', '-noF', '-noX'];

interface UncompressedImageRecord extends CacheRecord {
  readonly size: number;
}

/**
 * An uncompressed squashfs of a tree with the profile's layout (cached beside the real images):
 * what the image holds, without xz hiding which bytes are the same.
 */
async function uncompressedImage(images: TestImageSet, version: TreeVersion, profile: ProfileName): Promise<string> {
  const spec = SQUASHFS_PROFILES.find((p) => p.name === profile)!;
  const dir = join(images.cacheDir, images.source);
  const path = join(dir, 'images-uncompressed', `${version}.${profile}.squashfs`);
  const args = [...DISTROBUILDER_ARGS, ...spec.extraArgs, ...UNCOMPRESSED_ARGS];
  const key = JSON.stringify({ tree: images.trees[version].builtAt, args });
  const { built } = await cachedBuild<UncompressedImageRecord>(path, key, async (partial) => {
    log(`mksquashfs ${version} (${profile}, uncompressed) for the content floor`);
    await run('mksquashfs', [join(dir, 'trees', version), partial, ...args]);
    return { size: await fileSize(partial) };
  });
  if (built) log(`built ${path}`);
  return path;
}

/**
 * The content floor of a pair: xdelta3 -9 between the uncompressed images (source window over the
 * whole held image, no secondary compression), then xz -9 of that delta.
 */
async function contentFloor(images: TestImageSet, have: TreeVersion, want: TreeVersion, profile: ProfileName, scratch: string): Promise<{ bytes: number; rawDelta: number }> {
  const from = await uncompressedImage(images, have, profile);
  const to = await uncompressedImage(images, want, profile);
  const delta = join(scratch, 'floor.vcdiff');
  let window = 64 * 1024 * 1024;
  while (window < (await fileSize(from))) window *= 2;
  await run('xdelta3', ['-e', '-9', '-S', 'none', '-B', String(window), '-f', '-s', from, to, delta]);
  const rawDelta = await fileSize(delta);
  await run('xz', ['-9', '-f', delta]);
  const bytes = await fileSize(`${delta}.xz`);
  await rm(`${delta}.xz`, { force: true });
  return { bytes, rawDelta };
}

interface Pushed {
  readonly image: TestImage;
  readonly metadata: string;
  readonly fingerprint: string;
}

interface Server {
  readonly url: string;
  readonly pushEnv: NodeJS.ProcessEnv;
  readonly readEnv: NodeJS.ProcessEnv;
}

/**
 * The main server's simplestreams listing waits for its xdelta3 deltas (made on the first listing),
 * however long they take: the LXD-clients section lists once and wants every delta in it.
 */
const MAIN_SERVE_ARGS = ['--simplestreams-delta-wait', '10m'];

/**
 * The profile's `chunk serve`, which can start again on an empty delta cache (a fresh URL: port 0),
 * so each case's first pull with deltas computes every delta it gets.
 */
class MainServer implements Server {
  readonly pushEnv: NodeJS.ProcessEnv;
  readonly readEnv: NodeJS.ProcessEnv;

  private constructor(
    private server: ChunkServerProcess,
    private readonly dataDir: string,
    readonly pushToken: string,
    readonly readToken: string,
  ) {
    this.pushEnv = { LXCHUNK_TOKEN: pushToken };
    this.readEnv = { LXCHUNK_TOKEN: readToken };
  }

  static async start(dataDir: string): Promise<MainServer> {
    const server = await startChunkServer({ root, dataDir, serveArgs: MAIN_SERVE_ARGS });
    try {
      return new MainServer(server, dataDir, await createToken(root, dataDir, 'ci', 'push'), await createToken(root, dataDir, 'host', 'read'));
    } catch (err) {
      await server.stop();
      throw err;
    }
  }

  get url(): string {
    return this.server.url;
  }

  get pid(): number | undefined {
    return this.server.process.pid;
  }

  get process(): ChunkServerProcess['process'] {
    return this.server.process;
  }

  /** Stops the server, removes DATA/delta-cache and starts it again. */
  async withFreshDeltaCache(): Promise<void> {
    await this.server.stop();
    await rm(join(this.dataDir, 'delta-cache'), { recursive: true, force: true });
    this.server = await startChunkServer({ root, dataDir: this.dataDir, serveArgs: MAIN_SERVE_ARGS });
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

function lxchunkServed(samples: MetricSamples): number {
  return samples.get('lxchunk_bytes_served_total{protocol="lxchunk"}') ?? 0;
}

async function serverCpu(pid: number | undefined): Promise<number | undefined> {
  return pid === undefined ? undefined : processCpuSeconds(pid);
}

interface TimingPlan {
  readonly cases: ReadonlySet<string>;
  readonly mbitRates: readonly number[];
  readonly runs: number;
}

/** Which cases run (--cases) and whether stock LXD clients are measured too (off with --no-lxd-clients). */
interface CasePlan {
  readonly cases: ReadonlySet<string>;
  readonly lxdClients: boolean;
}

/** The host, holding the image it pulled with lxchunk: a cache (kept as a template, copied for each pull) and the image as seed. */
class Host {
  constructor(
    private readonly have: Pushed,
    private readonly template: string,
    private readonly scratch: string,
  ) {}

  static async prepare(have: Pushed, server: Server, scratch: string): Promise<Host> {
    const template = join(scratch, 'host-cache-template');
    const out = join(scratch, 'pulled');
    await rm(template, { recursive: true, force: true });
    await rm(out, { recursive: true, force: true });
    // The host got the image it holds through lxchunk: its cache keeps that manifest, which the
    // server compresses the new one against.
    await chunkJson<PullOutput>(['pull', '--json', have.fingerprint, '--out', out, '--cache', template], { ...server.readEnv, LXCHUNK_SERVER: server.url });
    await rm(out, { recursive: true, force: true });
    return new Host(have, template, scratch);
  }

  /**
   * One real `chunk pull` of `want` from `url` (the server, or a throttling proxy in front of it),
   * timed; `deltas: false` adds --no-deltas.
   */
  async pull(want: Pushed, prefer: Prefer, url: string, readEnv: NodeJS.ProcessEnv, deltas: boolean): Promise<PullSummary> {
    const out = join(this.scratch, 'pulled');
    const cache = join(this.scratch, 'host-cache');
    await rm(out, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
    await run('cp', ['-a', this.template, cache]);
    const loadAverage = loadavg()[0]!;
    const timed = await runTimed(
      chunkBin,
      [
        'pull',
        '--json',
        '--prefer',
        prefer,
        ...(deltas ? [] : ['--no-deltas']),
        want.fingerprint,
        '--out',
        out,
        '--cache',
        cache,
        '--seed',
        this.have.image.path,
        '--seed',
        this.have.metadata,
      ],
      { env: { ...process.env, ...readEnv, LXCHUNK_SERVER: url } },
    );
    const pull = JSON.parse(timed.stdout) as PullOutput;
    if (pull.manifestBase !== this.have.fingerprint) throw new Error(`the pull compressed its manifest against ${pull.manifestBase ?? 'nothing'}, not the held image`);
    if (pull.fingerprint !== want.fingerprint) throw new Error(`pulled ${pull.fingerprint}, wanted ${want.fingerprint}`);
    await rm(out, { recursive: true, force: true });
    await rm(cache, { recursive: true, force: true });
    return {
      bytesFetched: pull.bytesFetched,
      manifestBytes: pull.manifestBytes,
      chunksFetched: pull.chunksFetched,
      blocksRebuilt: pull.blocksRebuilt,
      rebuildCpuSeconds: pull.rebuildCpuSeconds,
      bytesRebuilt: pull.bytesRebuilt,
      contentChunksFetched: pull.contentChunksFetched,
      chunksAsDeltas: pull.chunksAsDeltas,
      wallSeconds: timed.wallSeconds,
      cpuSeconds: timed.cpuSeconds,
      loadAverage,
    };
  }

  async close(): Promise<void> {
    await rm(this.template, { recursive: true, force: true });
  }
}

/** The alias CI moves to each new build, in the push measurements with recipe reuse. */
const CI_ALIAS = 'bench/nightly';

async function pushAll(
  images: TestImageSet,
  profile: ProfileName,
  server: Server,
  ciServer: Server,
  scratch: string,
): Promise<{ pushed: Map<TreeVersion, Pushed>; costs: PushCost[] }> {
  const pushed = new Map<TreeVersion, Pushed>();
  const costs: PushCost[] = [];
  const spec = SQUASHFS_PROFILES.find((p) => p.name === profile)!;
  for (const image of images.images.filter((i) => i.profile === profile)) {
    const metadata = join(scratch, `${image.version}.${profile}.metadata.tar.xz`);
    await writeMetadataTarball(metadata, { os: 'debian', release: 'bookworm', serial: image.version });
    log(`push ${image.version} (${profile})`);
    const loadAverage = loadavg()[0]!;
    const push = await runTimed(chunkBin, ['push', '--json', metadata, image.path], { env: { ...process.env, ...server.pushEnv, LXCHUNK_SERVER: server.url } });
    const out = JSON.parse(push.stdout) as PushOutput;
    pushed.set(image.version, { image, metadata, fingerprint: out.fingerprint });
    // The image is stored whole now: this push only scans, hashes and asks the server.
    const scanOnly = await runTimed(chunkBin, ['push', '--json', '--no-content', metadata, image.path], {
      env: { ...process.env, ...server.pushEnv, LXCHUNK_SERVER: server.url },
    });
    log(`mksquashfs ${image.version} (${profile}) again, timed`);
    const fresh = join(scratch, 'fresh.squashfs');
    const mksquashfs = await runTimed('mksquashfs', [join(images.cacheDir, images.source, 'trees', image.version), fresh, ...DISTROBUILDER_ARGS, ...spec.extraArgs]);
    await rm(fresh, { force: true });
    log(`push ${image.version} (${profile}) under ${CI_ALIAS} to a second server, reusing the recipes of the image it pointed at`);
    const aliasPush = await runTimed(chunkBin, ['push', '--json', '--alias', CI_ALIAS, metadata, image.path], {
      env: { ...process.env, ...ciServer.pushEnv, LXCHUNK_SERVER: ciServer.url },
    });
    const aliasOut = JSON.parse(aliasPush.stdout) as PushOutput;
    if (aliasOut.fingerprint !== out.fingerprint) throw new Error(`the alias push made ${aliasOut.fingerprint}, the first ${out.fingerprint}`);
    costs.push({
      profile,
      version: image.version,
      imageBytes: image.size,
      pushWallSeconds: push.wallSeconds,
      pushCpuSeconds: push.cpuSeconds,
      noContentPushCpuSeconds: scanOnly.cpuSeconds,
      contentCpuSeconds: out.content?.cpuSeconds ?? null,
      blocksRebuilt: out.content?.blocksRebuilt ?? null,
      blocksKept: out.content?.blocksKept ?? null,
      contentBytes: out.content?.contentBytes ?? null,
      mksquashfsWallSeconds: mksquashfs.wallSeconds,
      mksquashfsCpuSeconds: mksquashfs.cpuSeconds,
      aliasPushCpuSeconds: aliasPush.cpuSeconds,
      aliasPushWallSeconds: aliasPush.wallSeconds,
      aliasBlocksReused: aliasOut.content?.blocksReused ?? null,
      loadAverage,
    });
  }
  return { pushed, costs };
}

function median<T>(values: readonly T[], by: (value: T) => number): T {
  return [...values].sort((a, b) => by(a) - by(b))[Math.floor(values.length / 2)]!;
}

async function measureProfile(
  images: TestImageSet,
  profile: ProfileName,
  server: MainServer,
  ciServer: Server,
  scratch: string,
  casync: string | undefined,
  timing: TimingPlan,
  plan: CasePlan,
): Promise<{ results: CaseResult[]; timings: CaseTiming[]; costs: PushCost[] }> {
  const { pushed, costs } = await pushAll(images, profile, server, ciServer, scratch);
  const get = (version: TreeVersion): Pushed => {
    const found = pushed.get(version);
    if (!found) throw new Error(`no ${version} image for the ${profile} profile`);
    return found;
  };

  const floors = new Map<string, { bytes: number; rawDelta: number }>();
  const results: CaseResult[] = [];
  const timings: CaseTiming[] = [];
  for (const spec of CASES) {
    if (!plan.cases.has(`${profile}:${spec.name}`)) continue;
    const have = get(spec.have);
    const want = get(spec.want);
    log(`${profile}: ${spec.name} (${spec.have} → ${spec.want})`);
    const timed = timing.cases.has(`${profile}:${spec.name}`);
    // The metadata tarball travels too: a few hundred bytes, fetched whole by every tool.
    const metadataBytes = await fileSize(want.metadata);
    const fullBytes = want.image.size + metadataBytes;
    const xdeltaApplies = spec.deltaFrom === spec.have;
    const xdelta = await xdeltaPair(have.image.path, want.image.path, scratch, timed && xdeltaApplies);
    const xdeltaPairBytes = xdelta.bytes + metadataBytes;
    const lxd = { bytes: xdeltaApplies ? xdeltaPairBytes : fullBytes, decodeSeconds: xdeltaApplies ? xdelta.decodeSeconds : 0 };
    // Every case starts on an empty delta cache: its first pull with deltas computes them all.
    await server.withFreshDeltaCache();
    const host = await Host.prepare(have, server, scratch);
    const served = async (prefer: Prefer, deltas: boolean, what: string): Promise<ServedPull> => {
      log(`${profile}: ${spec.name}: pull --prefer ${prefer}${deltas ? ' with deltas' : ' --no-deltas'}${what}`);
      const before = await scrapeMetrics(server.url);
      const cpuBefore = await serverCpu(server.pid);
      const pull = await host.pull(want, prefer, server.url, server.readEnv, deltas);
      const cpuAfter = await serverCpu(server.pid);
      const after = await scrapeMetrics(server.url);
      const stats = deltaStatsBetween(before, after);
      log(
        `  ${formatBytes(pull.bytesFetched)}, ${pull.chunksAsDeltas} chunks as deltas; server: ${stats.deltasServed} served, ` +
          `${stats.deltasComputed} computed in ${stats.computeSeconds.toFixed(2)} s, ${stats.cacheHits} cache hits`,
      );
      if (!deltas && (pull.chunksAsDeltas > 0 || stats.deltasServed > 0)) log(`  ODD: a --no-deltas pull got deltas`);
      return {
        ...pull,
        deltas,
        server: stats,
        serverCpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? null : cpuAfter - cpuBefore,
        wireBytes: lxchunkServed(after) - lxchunkServed(before),
      };
    };
    let pullTime: ServedPull;
    let pullBytes: ServedPull;
    let pullBytesDeltas: ServedPull;
    let pullTimeDeltas: ServedPull;
    let pullBytesDeltasCached: ServedPull | null = null;
    let lxdClients: LxdClientCosts | null = null;
    try {
      pullTime = await served('time', false, '');
      pullBytes = await served('bytes', false, '');
      pullBytesDeltas = await served('bytes', true, ' (empty delta cache)');
      pullTimeDeltas = await served('time', true, '');
      if (profile === CACHED_CASE.profile && spec.name === CACHED_CASE.case) pullBytesDeltasCached = await served('bytes', true, ' again (delta cache)');
      if (timed) timings.push(await timeCase(profile, spec.name, host, want, fullBytes, lxd, server, timing));
      if (plan.lxdClients) lxdClients = await lxdClientsCase(profile, spec, get, server, scratch);
    } finally {
      await host.close();
    }
    const cdc = await chunkJson<{ bytesFetched: number }>(['estimate', '--json', '--chunking', 'cdc', '--no-deltas', '--seed', have.image.path, want.image.path]);
    const pair = `${spec.have}→${spec.want}`;
    let floor = floors.get(pair);
    if (!floor) {
      log(`${profile}: content floor ${pair}`);
      floor = await contentFloor(images, spec.have, spec.want, profile, scratch);
      floors.set(pair, floor);
    }
    results.push({
      profile,
      case: spec.name,
      description: spec.description,
      fullBytes,
      lxdBytes: lxd.bytes,
      xdeltaPairBytes,
      xdeltaApplies,
      casyncBytes: casync ? (await casyncBytes(casync, have.image.path, want.image.path, scratch)) + metadataBytes : null,
      lxchunkBytes: pullTime.bytesFetched,
      lxchunkChunksFetched: pullTime.chunksFetched,
      pullTime,
      pullBytes,
      pullTimeDeltas,
      pullBytesDeltas,
      pullBytesDeltasCached,
      lxchunkCdcBytes: cdc.bytesFetched + metadataBytes,
      unitBoundBytes: (await squashfsUnitBound(have.image.path, want.image.path)) + metadataBytes,
      contentFloorBytes: floor.bytes + metadataBytes,
      contentFloorRawDeltaBytes: floor.rawDelta,
      lxdClients,
    });
  }
  return { results, timings, costs };
}

/**
 * The case's update served to stock LXD clients by the same server: an alias of its own moved
 * through the builds the host saw (the held one, then the wanted one; for the stale host the
 * build in between too; for the other variant only the wanted one: the host's build is another
 * alias's), then the LXD protocol's export and simplestreams' files (lxd-clients.ts).
 */
async function lxdClientsCase(
  profile: ProfileName,
  spec: CaseSpec,
  get: (version: TreeVersion) => Pushed,
  server: MainServer,
  scratch: string,
): Promise<LxdClientCosts> {
  const build = (version: TreeVersion) => ({ fingerprint: get(version).fingerprint, imagePath: get(version).image.path });
  const versions: TreeVersion[] = spec.deltaFrom === 'none' ? [spec.want] : spec.deltaFrom === spec.have ? [spec.have, spec.want] : [spec.have, spec.deltaFrom, spec.want];
  const alias = `bench/lxd-clients/${profile}/${spec.name.replace(/[^A-Za-z0-9.-]+/g, '-')}`;
  log(`${profile}: ${spec.name}: LXD clients (alias ${alias}: ${versions.join(' → ')})`);
  const target = { url: server.url, pushToken: server.pushToken, alias };
  try {
    const costs = await measureLxdClients({
      ...target,
      readToken: server.readToken,
      serverProcess: server.process,
      history: versions.map(build),
      have: build(spec.have),
      scratch,
    });
    const ss = costs.simplestreams;
    log(
      `  LXD export ${formatBytes(costs.lxd.export.bodyBytes)}; simplestreams delta ${ss.delta ? formatBytes(ss.delta.bodyBytes) : 'none'}` +
        `${ss.deltaMakeSeconds !== null ? ` (made in ${ss.deltaMakeSeconds.toFixed(1)} s)` : ''}, images.json ${ss.listingSeconds.toFixed(1)} s; ${costs.verified.length} checks passed`,
    );
    return costs;
  } finally {
    await deleteAlias(target).catch((err: unknown) => log(`  could not delete alias ${alias}: ${String(err)}`));
  }
}

/** The update's wall time at each link rate: lxchunk's real pulls through a throttling proxy, LXD's path and the full download computed. */
async function timeCase(
  profile: ProfileName,
  name: string,
  host: Host,
  want: Pushed,
  fullBytes: number,
  lxd: { bytes: number; decodeSeconds: number },
  server: Server,
  timing: TimingPlan,
): Promise<CaseTiming> {
  const rates: RateTiming[] = [];
  for (const mbit of timing.mbitRates) {
    const bytesPerSecond = (mbit * 1e6) / 8;
    const proxy = await startThrottleProxy(server.url, mbit * 1e6);
    try {
      const pulls = {} as Record<Prefer, PullSummary>;
      for (const prefer of PREFERENCES) {
        const runs: PullSummary[] = [];
        for (let i = 0; i < timing.runs; i++) {
          log(`${profile}: ${name} at ${mbit} Mbit/s: pull --prefer ${prefer}${timing.runs > 1 ? ` (run ${i + 1}/${timing.runs})` : ''}`);
          runs.push(await host.pull(want, prefer, proxy.url, server.readEnv, true));
        }
        pulls[prefer] = median(runs, (r) => r.wallSeconds);
        log(
          `  ${pulls[prefer].wallSeconds.toFixed(1)} s, ${formatBytes(pulls[prefer].bytesFetched)}, ${pulls[prefer].blocksRebuilt} blocks rebuilt, ${pulls[prefer].chunksAsDeltas} chunks as deltas`,
        );
      }
      rates.push({
        mbitPerSecond: mbit,
        fullSeconds: fullBytes / bytesPerSecond,
        lxdSeconds: lxd.bytes / bytesPerSecond + lxd.decodeSeconds,
        lxdDecodeSeconds: lxd.decodeSeconds,
        pulls,
      });
    } finally {
      await proxy.close();
    }
  }
  return { profile, case: name, rates };
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

/** "-8.2%" under the limit, "+20%" over it. */
function relative(value: number, limit: number): string {
  const change = (value / limit - 1) * 100;
  return `${change > 0 ? '+' : ''}${change.toFixed(Math.abs(change) < 10 ? 1 : 0)}%`;
}

function signedBytes(bytes: number): string {
  return `${bytes > 0 ? '+' : '-'}${formatBytes(Math.abs(bytes))}`;
}

function deltaTarget(r: CaseResult, ratio: number): { value: number; limit: number; met: boolean } {
  const value = r.pullBytesDeltas.bytesFetched;
  const limit = ratio * r.xdeltaPairBytes;
  return { value, limit, met: value <= limit };
}

function evaluateTargets(results: readonly CaseResult[], timings: readonly CaseTiming[], costs: readonly PushCost[]): TargetResult[] {
  const targets: TargetResult[] = [];
  for (const { case: name, ratio } of CONTENT_TARGETS) {
    const r = results.find((x) => x.profile === 'stock' && x.case === name);
    if (!r) continue;
    const limit = ratio * r.lxdBytes;
    const value = r.pullBytes.bytesFetched;
    targets.push({
      group: 'stock, --prefer bytes ≤ k × xdelta3 delta',
      what: `stock ${name}`,
      value: `${formatBytes(value)} = ${(value / r.lxdBytes).toFixed(2)}×`,
      limit: `≤ ${ratio.toFixed(2)}× = ${formatBytes(limit)}`,
      met: value <= limit,
      margin: `${signedBytes(value - limit)} (${relative(value, limit)})`,
    });
  }
  for (const target of DELTA_TARGETS) {
    const r = results.find((x) => x.profile === target.profile && x.case === target.case);
    if (!r) continue;
    const check = deltaTarget(r, target.ratio);
    targets.push({
      group: 'chunks as deltas: --prefer bytes with deltas ≤ k × xdelta3 delta (index and manifest included)',
      what: `${r.profile} ${r.case}`,
      value: `${formatBytes(check.value)} = ${(check.value / r.xdeltaPairBytes).toFixed(2)}×`,
      limit: `≤ ${target.ratio.toFixed(2)}× = ${formatBytes(check.limit)}`,
      met: check.met,
      margin: `${signedBytes(check.value - check.limit)} (${relative(check.value, check.limit)})`,
    });
  }
  for (const r of results) {
    const value = r.pullBytes.bytesFetched;
    const limit = r.pullTime.bytesFetched;
    targets.push({
      group: '--prefer bytes never fetches more than --prefer time',
      what: `${r.profile} ${r.case}`,
      value: formatBytes(value),
      limit: `≤ ${formatBytes(limit)}`,
      met: value <= limit,
      margin: `${signedBytes(value - limit)} (${relative(value, limit)})`,
    });
  }
  for (const t of timings) {
    for (const rate of t.rates) {
      const best = Math.min(rate.pulls.time.wallSeconds, rate.pulls.bytes.wallSeconds);
      const bestName = rate.pulls.time.wallSeconds <= rate.pulls.bytes.wallSeconds ? 'time' : 'bytes';
      const limit = AUTO_SLACK * best;
      const value = rate.pulls.auto.wallSeconds;
      targets.push({
        group: `--prefer auto ≤ ${AUTO_SLACK}× the faster of time and bytes (wall)`,
        what: `${t.profile} ${t.case} @ ${rate.mbitPerSecond} Mbit/s`,
        value: `${value.toFixed(1)} s`,
        limit: `≤ ${limit.toFixed(1)} s (${bestName} ${best.toFixed(1)} s)`,
        met: value <= limit,
        margin: `${value - limit > 0 ? '+' : ''}${(value - limit).toFixed(1)} s (${relative(value, limit)}; ${(value / best).toFixed(2)}× the faster)`,
      });
    }
  }
  for (const c of costs) {
    const limit = PUSH_CPU_TARGET * c.mksquashfsCpuSeconds;
    targets.push({
      group: `push CPU, first push of each image (no recipes to reuse) ≤ ${PUSH_CPU_TARGET}× mksquashfs CPU`,
      what: `${c.profile} ${c.version}`,
      value: `${c.pushCpuSeconds.toFixed(1)} s = ${(c.pushCpuSeconds / c.mksquashfsCpuSeconds).toFixed(2)}×`,
      limit: `≤ ${limit.toFixed(1)} s`,
      met: c.pushCpuSeconds <= limit,
      margin: `${c.pushCpuSeconds - limit > 0 ? '+' : ''}${(c.pushCpuSeconds - limit).toFixed(1)} s (${relative(c.pushCpuSeconds, limit)})`,
    });
  }
  for (const c of costs) {
    const limit = PUSH_CPU_TARGET * c.mksquashfsCpuSeconds;
    targets.push({
      group: `push CPU under CI's alias (recipe reuse) ≤ ${PUSH_CPU_TARGET}× mksquashfs CPU`,
      what: `${c.profile} ${c.version}`,
      value: `${c.aliasPushCpuSeconds.toFixed(1)} s = ${(c.aliasPushCpuSeconds / c.mksquashfsCpuSeconds).toFixed(2)}×`,
      limit: `≤ ${limit.toFixed(1)} s`,
      met: c.aliasPushCpuSeconds <= limit,
      margin: `${c.aliasPushCpuSeconds - limit > 0 ? '+' : ''}${(c.aliasPushCpuSeconds - limit).toFixed(1)} s (${relative(c.aliasPushCpuSeconds, limit)})`,
    });
  }
  return targets;
}

function renderBytesTable(results: readonly CaseResult[]): string {
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
  return renderTable(
    [
      { header: 'profile', align: 'left' },
      { header: 'case', align: 'left' },
      { header: 'full', align: 'right' },
      { header: 'LXD (xdelta3 -9)', align: 'right' },
      { header: 'casync 32K', align: 'right' },
      { header: 'lxchunk cdc', align: 'right' },
      { header: 'lxchunk time', align: 'right' },
      { header: 'whole units', align: 'right' },
      { header: '÷ LXD', align: 'right' },
      { header: '÷ casync', align: 'right' },
      { header: 'target (compressed path)', align: 'left' },
    ],
    rows,
  );
}

function renderContentTable(results: readonly CaseResult[]): string {
  const share = (bytes: number, result: CaseResult) => formatPercent(bytes / result.fullBytes);
  const ratio = (bytes: number, r: CaseResult) => `${(bytes / r.lxdBytes).toFixed(2)}×`;
  const rows: Row[] = [];
  for (const profile of SQUASHFS_PROFILES) {
    if (rows.length) rows.push(SEPARATOR);
    for (const r of results.filter((x) => x.profile === profile.name)) {
      const t = r.pullTime;
      const b = r.pullBytes;
      // Compressed chunks are sent as they are (xz does not shrink), so what the bytes pull saved on
      // them is about bytesRebuilt; the rest of its chunk bytes are content chunks.
      const contentWire = b.bytesFetched - b.manifestBytes - (t.bytesFetched - t.manifestBytes - b.bytesRebuilt);
      rows.push([
        profile.name,
        r.case,
        r.xdeltaApplies ? formatBytes(r.lxdBytes) : `full ${formatBytes(r.lxdBytes)}`,
        `${formatBytes(t.bytesFetched)} ${share(t.bytesFetched, r)}`,
        `${formatBytes(b.bytesFetched)} ${share(b.bytesFetched, r)}`,
        `${formatBytes(r.contentFloorBytes)} ${share(r.contentFloorBytes, r)}`,
        ratio(t.bytesFetched, r),
        ratio(b.bytesFetched, r),
        ratio(r.contentFloorBytes, r),
        `${(b.bytesFetched / t.bytesFetched).toFixed(2)}×`,
        formatBytes(b.manifestBytes),
        `${b.blocksRebuilt} / ${formatBytes(b.bytesRebuilt)}`,
        `${b.contentChunksFetched} / ~${formatBytes(Math.max(0, contentWire))}`,
        `${b.rebuildCpuSeconds.toFixed(1)} / ${(b.cpuSeconds - t.cpuSeconds).toFixed(1)} s`,
      ]);
    }
  }
  return renderTable(
    [
      { header: 'profile', align: 'left' },
      { header: 'case', align: 'left' },
      { header: 'LXD', align: 'right' },
      { header: 'lxchunk time', align: 'right' },
      { header: 'lxchunk bytes', align: 'right' },
      { header: 'content floor', align: 'right' },
      { header: 'time ÷ LXD', align: 'right' },
      { header: 'bytes ÷ LXD', align: 'right' },
      { header: 'floor ÷ LXD', align: 'right' },
      { header: 'bytes ÷ time', align: 'right' },
      { header: 'manifest', align: 'right' },
      { header: 'rebuilt blocks / out', align: 'right' },
      { header: 'content chunks / wire', align: 'right' },
      { header: 'rebuild CPU rep./meas.', align: 'right' },
    ],
    rows,
  );
}

/** Chunks as deltas of all the pull fetched (compressed and content chunks). */
function asDeltas(p: PullSummary): string {
  return `${p.chunksAsDeltas} of ${p.chunksFetched + p.contentChunksFetched}`;
}

function cpu(seconds: number | null): string {
  return seconds === null ? '?' : `${seconds.toFixed(2)} s`;
}

function renderDeltasTable(results: readonly CaseResult[]): string {
  const share = (bytes: number, result: CaseResult) => formatPercent(bytes / result.fullBytes);
  const rows: Row[] = [];
  for (const profile of SQUASHFS_PROFILES) {
    if (rows.length) rows.push(SEPARATOR);
    for (const r of results.filter((x) => x.profile === profile.name)) {
      const b = r.pullBytes;
      const td = r.pullTimeDeltas;
      const bd = r.pullBytesDeltas;
      const target = DELTA_TARGETS.find((t) => t.profile === r.profile && t.case === r.case);
      let verdictText = r.xdeltaApplies ? 'no target' : 'report only';
      if (target) {
        const check = deltaTarget(r, target.ratio);
        const measured = `${(check.value / r.xdeltaPairBytes).toFixed(2)}×`;
        verdictText = check.met
          ? `met (${measured} ≤ ${target.ratio.toFixed(2)}×)`
          : `NOT met (${measured} > ${target.ratio.toFixed(2)}×: ${signedBytes(check.value - check.limit)}, ${relative(check.value, check.limit)})`;
      }
      rows.push([
        profile.name,
        r.case,
        r.xdeltaApplies ? formatBytes(r.lxdBytes) : `full ${formatBytes(r.lxdBytes)}`,
        `${formatBytes(b.bytesFetched)} ${share(b.bytesFetched, r)}`,
        `${formatBytes(td.bytesFetched)} ${share(td.bytesFetched, r)}`,
        `${formatBytes(bd.bytesFetched)} ${share(bd.bytesFetched, r)}`,
        `${formatBytes(r.contentFloorBytes)} ${share(r.contentFloorBytes, r)}`,
        `${(bd.bytesFetched / r.lxdBytes).toFixed(2)}×`,
        `${(bd.bytesFetched / b.bytesFetched).toFixed(2)}×`,
        `${asDeltas(td)} / ${asDeltas(bd)}`,
        `${b.blocksRebuilt} / ${bd.blocksRebuilt}`,
        `${bd.server.deltasServed} / ${bd.server.deltasComputed} / ${bd.server.computeSeconds.toFixed(2)} s / ${msPerComputedDelta(bd.server)}`,
        `${cpu(b.serverCpuSeconds)} / ${cpu(bd.serverCpuSeconds)}`,
        verdictText,
      ]);
    }
  }
  return renderTable(
    [
      { header: 'profile', align: 'left' },
      { header: 'case', align: 'left' },
      { header: 'LXD', align: 'right' },
      { header: 'bytes (no deltas)', align: 'right' },
      { header: 'time+deltas', align: 'right' },
      { header: 'bytes+deltas', align: 'right' },
      { header: 'content floor', align: 'right' },
      { header: 'bytes+d ÷ LXD', align: 'right' },
      { header: 'bytes+d ÷ bytes', align: 'right' },
      { header: 'chunksAsDeltas time+d / bytes+d', align: 'right' },
      { header: 'rebuilt blocks bytes / bytes+d', align: 'right' },
      { header: 'bytes+d served / computed / time / per computed', align: 'right' },
      { header: 'server CPU bytes / bytes+d', align: 'right' },
      { header: 'target (bytes+deltas ÷ xdelta3)', align: 'left' },
    ],
    rows,
  );
}

/** The CACHED_CASE's bytes pull with deltas on an empty delta cache, then again. */
function renderCacheTable(results: readonly CaseResult[]): string {
  const r = results.find((x) => x.profile === CACHED_CASE.profile && x.case === CACHED_CASE.case);
  if (!r?.pullBytesDeltasCached) return `(no ${CACHED_CASE.profile} ${CACHED_CASE.case} case measured)`;
  const row = (label: string, p: ServedPull): Row => [
    label,
    formatBytes(p.bytesFetched),
    String(p.chunksAsDeltas),
    String(p.server.deltasServed),
    String(p.server.deltasComputed),
    String(p.server.cacheHits),
    `${p.server.computeSeconds.toFixed(3)} s`,
    msPerComputedDelta(p.server),
    cpu(p.serverCpuSeconds),
    `${p.wallSeconds.toFixed(1)} s`,
  ];
  return renderTable(
    [
      { header: `${r.profile} ${r.case}, --prefer bytes`, align: 'left' },
      { header: 'fetched', align: 'right' },
      { header: 'chunksAsDeltas', align: 'right' },
      { header: 'deltas served', align: 'right' },
      { header: 'computed', align: 'right' },
      { header: 'cache hits', align: 'right' },
      { header: 'compute time', align: 'right' },
      { header: 'per computed', align: 'right' },
      { header: 'server CPU', align: 'right' },
      { header: 'pull wall', align: 'right' },
    ],
    [row('cold (empty delta cache)', r.pullBytesDeltas), row('cached (the same pull again)', r.pullBytesDeltasCached)],
  );
}

function renderTimingTable(timings: readonly CaseTiming[]): string {
  const rows: Row[] = [];
  for (const t of timings) {
    if (rows.length) rows.push(SEPARATOR);
    for (const rate of t.rates) {
      const { time, bytes, auto } = rate.pulls;
      const best = Math.min(time.wallSeconds, bytes.wallSeconds);
      const pull = (p: PullSummary) => `${p.wallSeconds.toFixed(1)} s (${formatBytes(p.bytesFetched)})`;
      rows.push([
        t.profile,
        t.case,
        `${rate.mbitPerSecond} Mbit/s`,
        `${rate.fullSeconds.toFixed(1)} s`,
        `${rate.lxdSeconds.toFixed(1)} s${rate.lxdDecodeSeconds > 0 ? ` (+${rate.lxdDecodeSeconds.toFixed(1)} s -d)` : ''}`,
        pull(time),
        pull(bytes),
        pull(auto),
        `${auto.blocksRebuilt} / ${bytes.blocksRebuilt}`,
        `${(auto.wallSeconds / best).toFixed(2)}×`,
        `${time.cpuSeconds.toFixed(1)} / ${bytes.cpuSeconds.toFixed(1)} / ${auto.cpuSeconds.toFixed(1)} s`,
        [time, bytes, auto].map((p) => p.loadAverage.toFixed(1)).join(' / '),
      ]);
    }
  }
  return renderTable(
    [
      { header: 'profile', align: 'left' },
      { header: 'case', align: 'left' },
      { header: 'link', align: 'right' },
      { header: 'full (computed)', align: 'right' },
      { header: 'LXD (computed)', align: 'right' },
      { header: 'lxchunk time', align: 'right' },
      { header: 'lxchunk bytes', align: 'right' },
      { header: 'lxchunk auto', align: 'right' },
      { header: 'rebuilt auto / bytes', align: 'right' },
      { header: 'auto ÷ faster', align: 'right' },
      { header: 'pull CPU time/bytes/auto', align: 'right' },
      { header: 'load avg', align: 'right' },
    ],
    rows,
  );
}

/** `chunk pull` measures the link on its manifest download only from this size on (pull-image.ts); below it, auto assumes 100 Mbit/s. */
const AUTO_MIN_MEASURED_BYTES = 256 * 1024;

function autoRateNote(timings: readonly CaseTiming[]): string {
  const sizes = timings.flatMap((t) => t.rates.map((r) => r.pulls.auto.manifestBytes));
  if (sizes.length === 0) return '';
  const small = sizes.filter((size) => size < AUTO_MIN_MEASURED_BYTES).length;
  const range = `${formatBytes(Math.min(...sizes))} to ${formatBytes(Math.max(...sizes))}`;
  return small === sizes.length
    ? `auto: every manifest (${range}) was under the ${formatBytes(AUTO_MIN_MEASURED_BYTES)} auto measures the link on, so it assumed its default 100 Mbit/s at every rate.`
    : `auto: ${small} of ${sizes.length} manifests (${range}) were under the ${formatBytes(AUTO_MIN_MEASURED_BYTES)} auto measures the link on (then it assumes 100 Mbit/s).`;
}

function renderPushTable(costs: readonly PushCost[]): string {
  const rows: Row[] = [];
  for (const profile of SQUASHFS_PROFILES) {
    if (rows.length) rows.push(SEPARATOR);
    for (const c of costs.filter((x) => x.profile === profile.name)) {
      rows.push([
        c.profile,
        c.version,
        formatBytes(c.imageBytes),
        `${c.pushWallSeconds.toFixed(1)} s`,
        `${c.pushCpuSeconds.toFixed(1)} s`,
        `${c.noContentPushCpuSeconds.toFixed(1)} s`,
        c.contentCpuSeconds === null ? 'n/a' : `${c.contentCpuSeconds.toFixed(1)} s`,
        c.blocksRebuilt === null ? 'n/a' : `${c.blocksRebuilt} / ${c.blocksKept}`,
        `${c.mksquashfsWallSeconds.toFixed(1)} s`,
        `${c.mksquashfsCpuSeconds.toFixed(1)} s`,
        `${(c.pushCpuSeconds / c.mksquashfsCpuSeconds).toFixed(2)}×`,
        `${c.aliasPushCpuSeconds.toFixed(1)} s = ${(c.aliasPushCpuSeconds / c.mksquashfsCpuSeconds).toFixed(2)}×`,
        c.aliasBlocksReused === null ? 'n/a' : String(c.aliasBlocksReused),
        c.loadAverage.toFixed(1),
      ]);
    }
  }
  return renderTable(
    [
      { header: 'profile', align: 'left' },
      { header: 'image', align: 'left' },
      { header: 'size', align: 'right' },
      { header: 'push wall', align: 'right' },
      { header: 'push CPU', align: 'right' },
      { header: '--no-content CPU', align: 'right' },
      { header: 'reported job time', align: 'right' },
      { header: 'blocks by content / kept', align: 'right' },
      { header: 'mksquashfs wall', align: 'right' },
      { header: 'mksquashfs CPU', align: 'right' },
      { header: 'push ÷ mksquashfs CPU', align: 'right' },
      { header: `push CPU under alias`, align: 'right' },
      { header: 'recipes reused', align: 'right' },
      { header: 'load avg', align: 'right' },
    ],
    rows,
  );
}

/** The three ways a host can be served the same update, from the same server and chunks. */
function renderLxdClients(results: readonly CaseResult[]): string {
  const measured = results.filter((r) => r.lxdClients !== null);
  if (measured.length === 0) return '';
  const rows: Row[] = [];
  const deltaRows: Row[] = [];
  const checks = new Set<string>();
  let profile: string | undefined;
  for (const r of measured) {
    const c = r.lxdClients!;
    const ss = c.simplestreams;
    for (const check of c.verified) checks.add(check.replace(/^(lxd\.tar\.xz|delta\.vcdiff|root\.squashfs): size/, 'each file: size'));
    if (profile !== undefined && r.profile !== profile) rows.push(SEPARATOR);
    profile = r.profile;
    const row = (label: string, received: number, wire: number | null, first: boolean): Row => [
      first ? r.profile : '',
      first ? r.case : '',
      label,
      formatBytes(received),
      formatPercent(received / r.fullBytes),
      `${(received / r.xdeltaPairBytes).toFixed(2)}×`,
      wire === null ? '' : formatBytes(wire),
    ];
    const held = { bodyBytes: ss.listing.bodyBytes + ss.metadata.bodyBytes, wireBytes: ss.listing.wireBytes + ss.metadata.wireBytes };
    const have = CASES.find((x) => x.name === r.case)!.have;
    rows.push(row('1. agent / chunk pull --prefer bytes (deltas)', r.pullBytesDeltas.bytesFetched, r.pullBytesDeltas.wireBytes, true));
    rows.push(row('1. agent / chunk pull --prefer time (deltas)', r.pullTimeDeltas.bytesFetched, r.pullTimeDeltas.wireBytes, false));
    rows.push(row('2. LXD protocol: …/export (whole image)', c.lxd.total.bodyBytes, c.lxd.total.wireBytes, false));
    rows.push(
      ss.delta
        ? row(`3. simplestreams, holding ${have}: lxd.tar.xz + delta`, held.bodyBytes + ss.delta.bodyBytes, held.wireBytes + ss.delta.wireBytes, false)
        : row(`3. simplestreams, holding ${have}: no delta for it, full`, held.bodyBytes + ss.rootfs.bodyBytes, held.wireBytes + ss.rootfs.wireBytes, false),
    );
    rows.push(row('3. simplestreams, holding none: lxd.tar.xz + root.squashfs', held.bodyBytes + ss.rootfs.bodyBytes, held.wireBytes + ss.rootfs.wireBytes, false));
    rows.push(row('   (xdelta3 -e -9 of the pair, bench, + metadata)', r.xdeltaPairBytes, null, false));

    const peer = r.xdeltaPairBytes - ss.metadata.bodyBytes;
    deltaRows.push([
      r.profile,
      r.case,
      ss.deltaBase ?? 'none for the held build',
      Object.keys(ss.deltasListed).length ? Object.entries(ss.deltasListed).map(([base, size]) => `${base} ${formatBytes(size)}`).join(', ') : 'none',
      ss.delta ? formatBytes(ss.delta.bodyBytes) : '',
      formatBytes(peer),
      ss.delta ? `${(ss.delta.bodyBytes / peer).toFixed(3)}× (${ss.delta.bodyBytes - peer >= 0 ? '+' : ''}${ss.delta.bodyBytes - peer} B)` : '',
      ss.deltaMakeSeconds !== null ? `${ss.deltaMakeSeconds.toFixed(1)} s` : ss.delta ? 'made earlier' : '',
      ss.deltasMade.length ? `${ss.deltasMade.length} / ${ss.deltasMade.reduce((sum, d) => sum + d.seconds, 0).toFixed(1)} s` : '0',
      `${ss.listingSeconds.toFixed(1)} s`,
      ss.decodeSeconds !== null ? `${ss.decodeSeconds.toFixed(1)} s` : '',
    ]);
  }
  return [
    renderTable(
      [
        { header: 'profile', align: 'left' },
        { header: 'case', align: 'left' },
        { header: 'how the host is served', align: 'left' },
        { header: 'received', align: 'right' },
        { header: '÷ full', align: 'right' },
        { header: '÷ xdelta3', align: 'right' },
        { header: 'server wrote', align: 'right' },
      ],
      rows,
    ),
    '',
    'Simplestreams deltas (made by the server with xdelta3 -e -9 -B <window> on the first images.json, then verified by decoding):',
    'delta base = the version key of the held build; listed = every delta item on the newest version (base version, size);',
    'delta ÷ peer = the delta the host fetched ÷ the bench\'s own `xdelta3 -e -9` of the same pair; made in = the server\'s log line',
    "'simplestreams delta made' for that delta (seconds; 'made earlier' = an earlier case's listing made it); all made = every delta",
    "that listing made / their seconds together; images.json = the listing's wall time (it waits for them); xdelta3 -d = the host's",
    'decode of the delta against the held squashfs, measured here.',
    '',
    renderTable(
      [
        { header: 'profile', align: 'left' },
        { header: 'case', align: 'left' },
        { header: 'delta base', align: 'left' },
        { header: 'listed', align: 'left' },
        { header: 'delta', align: 'right' },
        { header: 'xdelta3 peer', align: 'right' },
        { header: 'delta ÷ peer', align: 'right' },
        { header: 'made in', align: 'right' },
        { header: 'all made', align: 'right' },
        { header: 'images.json', align: 'right' },
        { header: 'xdelta3 -d', align: 'right' },
      ],
      deltaRows,
    ),
    '',
    `Checked in every case: ${[...checks].join('; ')}.`,
  ].join('\n');
}

function renderTargets(targets: readonly TargetResult[]): string {
  const rows: Row[] = [];
  let group: string | undefined;
  for (const t of targets) {
    if (t.group !== group) {
      if (group !== undefined) rows.push(SEPARATOR);
      group = t.group;
      rows.push([t.group]);
    }
    rows.push([`  ${t.what}`, t.value, t.limit, t.met ? 'met' : 'MISSED', t.margin]);
  }
  const missed = targets.filter((t) => !t.met).length;
  return [
    renderTable(
      [
        { header: 'target', align: 'left' },
        { header: 'measured', align: 'right' },
        { header: 'limit', align: 'left' },
        { header: 'result', align: 'left' },
        { header: 'by (measured - limit)', align: 'left' },
      ],
      rows,
    ),
    '',
    `${targets.length - missed} of ${targets.length} met, ${missed} missed.`,
  ].join('\n');
}

function renderResults(
  results: readonly CaseResult[],
  timings: readonly CaseTiming[],
  costs: readonly PushCost[],
  targets: readonly TargetResult[],
  images: TestImageSet,
  timing: TimingPlan,
): string {
  const sizes = SQUASHFS_PROFILES.map((profile) => {
    const image = images.images.find((i) => i.profile === profile.name && i.version === 'update')!;
    return `${profile.name}: update image ${formatBytes(image.size)}`;
  });
  const source =
    images.source === 'debootstrap'
      ? 'Debian bookworm minbase, debootstrap'
      : `FALLBACK: trees made of this host's /usr, not Debian images (${images.fallbackReason ?? 'debootstrap unavailable'})`;
  return [
    `Bytes a host receives to go from the image it holds to the new one (${source}).`,
    'lxchunk = `chunk pull` from a real server by a host that pulled the held image with lxchunk (manifest sent against',
    'that one) and seeds with it: everything received, manifest with its chunk and content indexes, framing, chunks.',
    'lxchunk time = `--prefer time --no-deltas` (compressed chunks only: the compressed path); lxchunk bytes =',
    '`--prefer bytes --no-deltas` (xz blocks rebuilt from content chunks wherever that is expected to fetch fewer bytes).',
    'Both without chunks as deltas, so these columns mean what they did before deltas; the Deltas table has the default.',
    'LXD = the xdelta3 -e -9 delta when the host holds the build the delta starts from, else the full image.',
    `casync 32K = new .cacnk files (as stored, compressed) + .caibx; lxchunk cdc = \`chunk estimate --chunking cdc --no-deltas\`.`,
    'whole units = the new image\'s squashfs units (blocks, metadata blocks, tables) the held image lacks byte for byte,',
    'with no index: what matching only whole units fetches.',
    'content floor = xz -9 of `xdelta3 -e -9 -S none -B <held image size>` between uncompressed squashfs images',
    `(${UNCOMPRESSED_ARGS.join(' ')}, otherwise the profile's options) of the same two trees: the changed content itself.`,
    `Every column includes the metadata tarball (a few hundred bytes). ${sizes.join('; ')}.`,
    '',
    'Compressed path (`--prefer time`) against LXD and casync; the earlier targets: no-fragments ≤ ' +
      `${XDELTA_TARGET}× xdelta3 where a delta applies, stock < casync.`,
    '',
    renderBytesTable(results),
    '',
    'Content domain: `--prefer bytes` against `--prefer time`, LXD and the content floor. manifest = of bytesFetched, the',
    'manifest with its indexes (the same for both pulls). rebuilt blocks / out = xz blocks re-encoded, and the output bytes',
    'they gave. content chunks / wire = content chunks fetched, and about what they cost on the wire (the bytes pull\'s',
    'chunk bytes minus the compressed chunks it still fetched). rebuild CPU rep./meas. = the pull\'s rebuildCpuSeconds (the CPU',
    'time of its re-encoding jobs, from their threads\' clocks) / the measured user + sys CPU of the bytes pull minus the time pull\'s (both unthrottled).',
    'content floor caveat: xdelta3 -9 makes short copies from the 110+ MiB uncompressed source inside new binary files,',
    'which xz then compresses worse than the files themselves, so where whole files are added (add-packages) the "floor"',
    'is not a lower bound: see transfer.json for the raw (pre-xz) delta sizes.',
    '',
    renderContentTable(results),
    '',
    'Deltas: chunks as deltas (the product default): each missing chunk names the seed chunks it most likely replaced,',
    'and the server answers a zstd delta against them where that pays. time+deltas / bytes+deltas = `--prefer time` /',
    '`--prefer bytes` with deltas, everything received (index and manifest included); bytes (no deltas) = lxchunk bytes',
    'above. The server starts each case on an empty delta cache; bytes+deltas runs first (computes every delta it gets),',
    'time+deltas after it (may reuse those). chunksAsDeltas = chunks that came as deltas of all chunks fetched (compressed',
    'and content). rebuilt blocks = xz blocks the bytes pull re-encoded without / with deltas (with deltas, a content chunk',
    'that names bases is planned at a fraction of its size). bytes+d served / computed / time / per computed = the server\'s',
    'lxchunk_deltas_served_total, lxchunk_deltas_computed_total and lxchunk_delta_compute_seconds_total during the',
    'bytes+deltas pull (zstd on its event loop: one core; computed but not served = declined, the plain chunk was smaller),',
    'and time per computed delta. server CPU = user + sys of the server process during the bytes pull without / with deltas.',
    `Targets (issue): ${DELTA_TARGETS.map((t) => `${t.profile} ${t.case} ≤ ${t.ratio}×`).join(', ')} the xdelta3 delta;`,
    'stale host and other variant: report only (LXD sends the full image there).',
    '',
    renderDeltasTable(results),
    '',
    `The delta cache: the ${CACHED_CASE.profile} ${CACHED_CASE.case} bytes+deltas pull, then the same pull once more (a second host`,
    'like the first): the server\'s delta counters during each.',
    '',
    renderCacheTable(results),
    '',
    ...(results.some((r) => r.lxdClients)
      ? [
          'Three ways to serve a host, and what each costs for the same update, all from the same `chunk serve` and chunks:',
          '1. the agent / `chunk pull` with the held build as seed (the Deltas table\'s pulls); 2. a stock LXD host on the LXD',
          'image-server protocol: GET /1.0, the alias, the image, then /1.0/images/FP/export (metadata + rootfs, the whole image);',
          '3. a stock LXD host on simplestreams: index.json + images.json, then lxd.tar.xz and the squashfs.vcdiff item whose',
          'delta_base is the build it holds (what LXD does when it holds one), or root.squashfs (when it holds none). Each case',
          'has an alias of its own moved through the builds the host saw (held → wanted; stale host: base → rebuild → update;',
          'other variant: only the wanted build, the held one being another alias\'s); the server lists deltas from the last',
          '3 builds (--simplestreams-deltas) and waits up to 10m for them (--simplestreams-delta-wait).',
          'received = body bytes the bench received (listing included for simplestreams); ÷ full = of the new image + metadata;',
          '÷ xdelta3 = of the bench\'s `xdelta3 -e -9` of the held and wanted squashfs + metadata (the peer in the tables above);',
          'server wrote = the server\'s lxchunk_bytes_served_total{protocol} over those requests (headers included).',
          '',
          renderLxdClients(results),
          '',
        ]
      : []),
    ...(timings.length
      ? [
          `Update wall time, one host, at simulated link rates (${timing.mbitRates.join(' and ')} Mbit/s each way, no added latency; ${timing.runs === 1 ? 'one run' : `median of ${timing.runs} runs`}).`,
          'Every pull here runs with the product default, chunks as deltas on (the server\'s delta cache already holds what',
          'the unthrottled pulls of the case computed).',
          'lxchunk: measured wall time of the real `chunk pull` process (start to exit: node start-up, seed scan, transfer,',
          're-encoding, verification) through a throttling TCP proxy in front of `chunk serve` on this machine',
          "(load avg = the machine's 1-minute load average as each of the three pulls started: other work slows them)",
          `(${availableParallelism()} cores here, the server's and the proxy's work included); in parentheses, its bytes fetched.`,
          'full and LXD are COMPUTED, not transferred: full = (image + metadata) / rate; LXD = delta / rate + the measured wall',
          'time of `xdelta3 -d` applying it (shown as +N s -d), or the full image where no delta applies. Neither includes',
          "LXD's own hashing or unpacking. rebuilt auto / bytes = xz blocks the auto and bytes pulls re-encoded.",
          '',
          renderTimingTable(timings),
          autoRateNote(timings),
          '',
        ]
      : []),
    'Push cost: user + system CPU of the whole `chunk push` process (worker threads included; the server\'s not), beside a',
    "fresh mksquashfs of the same tree with the profile's options (all cores). --no-content CPU = the same push again with",
    '--no-content once the image is stored (scan, hashes, server queries: what the push costs without the content domain).',
    "reported job time = the push's own content.cpuSeconds, the CPU time of its re-encoding jobs from their threads' clocks",
    '(part of the measured CPU, which also counts decompression, hashing and I/O). The first push of each profile',
    'uploads everything; mksquashfs and the pushes ran at different moments of the load shown.',
    `push CPU under alias = the same image pushed with --alias ${CI_ALIAS} to a second server, in build order (base,`,
    'rebuild, update, add-packages), as CI pushes nightlies: blocks whose stored bytes the alias\'s image had take its',
    'recipes without re-encoding (recipes reused). base has nothing to reuse: its cost is the first push\'s.',
    '',
    renderPushTable(costs),
    '',
    'Targets',
    '',
    renderTargets(targets),
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
      { name: 'lxchunk --prefer time, no deltas (compressed)', color: '#1f5fa8' },
      { name: 'lxchunk --prefer bytes, no deltas (content)', color: '#0b2e5a' },
      { name: 'lxchunk --prefer bytes + deltas (default)', color: '#6a3d9a' },
      { name: 'content floor (xz of uncompressed delta)', color: '#c8d8c0' },
    ],
    groups: results.map((r) => ({
      label: `${r.profile}: ${r.case}`,
      values: [
        percent(r.lxdBytes, r),
        percent(r.casyncBytes, r),
        percent(r.lxchunkCdcBytes, r),
        percent(r.pullTime.bytesFetched, r),
        percent(r.pullBytes.bytesFetched, r),
        percent(r.pullBytesDeltas.bytesFetched, r),
        percent(r.contentFloorBytes, r),
      ],
    })),
    format: (value) => `${value.toFixed(value < 10 ? 1 : 0)}%`,
  });
}

function parseCaseList(text: string, option: string): Set<string> {
  const all = SQUASHFS_PROFILES.flatMap((p) => CASES.map((c) => `${p.name}:${c.name}`));
  if (text === 'all') return new Set(all);
  const chosen = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const name of chosen) if (!all.includes(name)) throw new Error(`${option}: unknown case ${name} (one of: ${all.join(', ')})`);
  return new Set(chosen);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: benchArgs(),
    options: {
      json: { type: 'boolean', default: false },
      out: { type: 'string' },
      source: { type: 'string', default: 'auto' },
      timed: { type: 'string', default: DEFAULT_TIMED },
      rates: { type: 'string', default: '10,100' },
      runs: { type: 'string', default: '3' },
      cases: { type: 'string', default: 'all' },
      'no-lxd-clients': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const source = values.source as 'auto' | 'debootstrap' | 'host-usr-fallback';
  if (!['auto', 'debootstrap', 'host-usr-fallback'].includes(source)) throw new Error(`--source: unknown source ${source}\n${USAGE}`);
  const timing: TimingPlan = {
    cases: parseCaseList(values.timed, '--timed'),
    mbitRates: values.rates.split(',').map((s) => positive(s, '--rates')),
    runs: Math.round(positive(values.runs, '--runs')),
  };
  const plan: CasePlan = { cases: parseCaseList(values.cases, '--cases'), lxdClients: !values['no-lxd-clients'] };
  if (plan.cases.size === 0) throw new Error(`--cases: no case chosen\n${USAGE}`);
  for (const tool of ['xdelta3', 'mksquashfs', 'xz']) {
    if (!which(tool)) throw new Error(`${tool} is missing: run bin/setup (apt-get install ${tool === 'mksquashfs' ? 'squashfs-tools' : tool === 'xz' ? 'xz-utils' : tool})`);
  }
  const casync = which('casync');
  if (!casync) log('casync is not installed: its column stays empty (apt-get install casync)');
  const outDir = resolve(values.out ?? join(root, 'bench/results'));

  const images = await ensureTestImages({ source });
  if (images.source !== 'debootstrap') log(`NOTE: the images are the host-usr fallback, not Debian: ${images.fallbackReason ?? ''}`);
  const cleanup = new CleanupStack();
  const removeSignals = cleanup.onSignals();
  const scratch = join(images.cacheDir, `transfer-${process.pid}`);
  try {
    await mkdir(scratch, { recursive: true });
    cleanup.add(`remove ${scratch}`, () => rm(scratch, { recursive: true, force: true }));
    const results: CaseResult[] = [];
    const timings: CaseTiming[] = [];
    const costs: PushCost[] = [];
    for (const profile of SQUASHFS_PROFILES) {
      if (!CASES.some((c) => plan.cases.has(`${profile.name}:${c.name}`))) continue;
      // A fresh server per profile: the two profiles share no chunks, and neither should pay for the other.
      const dataDir = join(scratch, `server-${profile.name}`);
      await mkdir(dataDir, { recursive: true });
      const server = await MainServer.start(dataDir);
      const stop = cleanup.add('stop chunk serve', () => server.stop());
      // A second server for the pushes under CI's alias (recipe reuse): on the first, the images are stored already.
      const ciDataDir = join(scratch, `ci-server-${profile.name}`);
      await mkdir(ciDataDir, { recursive: true });
      const ciChunkServer = await startChunkServer({ root, dataDir: ciDataDir });
      const stopCi = cleanup.add('stop the second chunk serve', () => ciChunkServer.stop());
      const ciServer: Server = {
        url: ciChunkServer.url,
        pushEnv: { LXCHUNK_TOKEN: await createToken(root, ciDataDir, 'ci', 'push') },
        readEnv: {},
      };
      const measured = await measureProfile(images, profile.name, server, ciServer, scratch, casync, timing, plan);
      results.push(...measured.results);
      timings.push(...measured.timings);
      costs.push(...measured.costs);
      await stopCi();
      await stop();
      await rm(ciDataDir, { recursive: true, force: true });
      await rm(dataDir, { recursive: true, force: true });
    }
    const targets = evaluateTargets(results, timings, costs);
    const text = renderResults(results, timings, costs, targets, images, timing);
    const json = { source: images.source, fallbackReason: images.fallbackReason ?? null, results, timings, pushCosts: costs, targets };
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, 'transfer.txt'), `${text}\n`);
    await writeFile(join(outDir, 'transfer.json'), `${JSON.stringify(json, null, 2)}\n`);
    await writeFile(join(outDir, 'transfer.svg'), renderPlot(results, images));
    if (values.json) console.log(JSON.stringify(json, null, 2));
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
