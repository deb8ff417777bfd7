/**
 * `pnpm bench:server`: the chunk server's read paths against a real server process on loopback.
 * For each chunk size: upload a random image (putChunk, several in flight) and commit it as a
 * public manifest; fetch every chunk with ChunkServerClient.fetchChunks (verified, as a host
 * would) and with a raw streaming POST /v1/chunks/fetch that only counts bytes; then wrk against
 * single-chunk GETs, on our server and on nginx serving the same chunk files statically.
 * Chunks as deltas, on the same server: a smaller random image and an edited copy of it (1 chunk in
 * --delta-every changed by a few small edits) are pushed; the copy's new chunks are fetched in one
 * go plain, then naming the chunks they replaced as bases (ReplacedChunks, as `chunk pull` names
 * them): first on an empty delta cache (the server computes every delta), then the same fetch again
 * (answered from the cache).
 * S3 + PostgreSQL (--backends s3): one moto_server and one private PostgreSQL; an image fetched
 * through a replica and with plain SDK GETs of its objects at the same concurrency, through two
 * replicas at once against one, and a push to this backend against a push to the filesystem one.
 * Run: node bench/dist/server.bench.js [--json] [--bytes 1G] [--seconds 10] [--avg 64,32] [--delta-bytes 256M]
 *        [--backends fs,s3] [--s3-bytes 256M] [--push-bytes 1G]
 */
import { availableParallelism, loadavg } from 'node:os';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chunkId } from '@lxchunk/chunker';
import { ChunkServerClient, MAX_FETCH_IDS, forEachBounded } from '@lxchunk/client';
import type { DeltaBaseSource } from '@lxchunk/format';
import { ReplacedChunks } from '@lxchunk/sync';
import { cdcParams, seededUnit } from './cdc-like-sizes.js';
import { createToken, startChunkServer } from './chunk-server-process.js';
import { CleanupStack } from './cleanup-stack.js';
import { deltaStatsBetween, scrapeMetrics, type DeltaServerStats } from './delta-metrics.js';
import { editedImage } from './edited-image.js';
import { which } from './measure.js';
import { startNginx } from './nginx-process.js';
import { processCpuSeconds } from './process-cpu.js';
import { randomImage, type ImageChunk, type RandomImage } from './random-image.js';
import { batchWireBytes, rawBatchFetch } from './raw-batch-fetch.js';
import { runWrk, writeWrkScript, type WrkResult } from './run-wrk.js';
import { measureS3Backend, type S3BackendResult } from './s3-backend-bench.js';
import { renderS3Backend, S3_FETCH_TARGET_RATIO } from './s3-backend-report.js';
import { renderTable, SEPARATOR, type Row } from './text-table.js';
import { uploadChunks } from './upload-chunks.js';
import { formatBytes, formatCount, KiB } from './units.js';
import { benchArgs, parseSize, positive } from './bench-args.js';

const USAGE = `usage: node bench/dist/server.bench.js [options]

  --bytes SIZE          rootfs bytes per image, e.g. 1G, 128M (default 1G; env BENCH_BYTES)
  --avg KIB,...         average chunk sizes in KiB, one image each (default 64,32; env BENCH_AVG_KIB);
                        lengths vary like CDC output: min = avg/4 plus an exponential run, max = avg*4
  --seconds N           wrk duration per target (default 10; env BENCH_SECONDS)
  --runs N              measured fetch runs, the median is reported (default 3; env BENCH_RUNS)
  --connections N       wrk connections (default 32; env BENCH_CONNECTIONS)
  --threads N           wrk threads (default 2; env BENCH_THREADS)
  --upload-concurrency N  putChunk calls in flight (default 8)
  --fetch-concurrency N   fetch batches in flight, client and raw (default 4, the client's default)
  --delta-bytes SIZE    rootfs bytes of the image pair for chunks as deltas, 0 to skip them
                        (default 256M; env BENCH_DELTA_BYTES)
  --delta-every N       in the edited copy, about 1 chunk in N is changed (default 4)
  --profile DIR         run the server under node --cpu-prof, profiles written to DIR
  --backends LIST       fs (filesystem + SQLite: everything above), s3 (S3 + PostgreSQL: moto_server
                        and a private PostgreSQL, started here), or both (default fs,s3)
  --s3-bytes SIZE       rootfs bytes of the image fetched from S3 (default 256M: moto serves 10-15 MB/s here)
  --push-bytes SIZE     rootfs bytes of the image pushed to each backend (default 1G)
  --json                print one JSON object with the raw numbers instead of tables
Scratch data lives in .bench-cache/server-<pid>/ and is removed at the end.`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MB = 1e6;
const FETCH_TARGET_MBPS = 1000;
const GET_TARGET_RATIO = 0.5;

interface Options {
  readonly bytes: number;
  readonly avgKiB: readonly number[];
  readonly seconds: number;
  readonly runs: number;
  readonly connections: number;
  readonly threads: number;
  readonly uploadConcurrency: number;
  readonly fetchConcurrency: number;
  readonly deltaBytes: number;
  readonly deltaEvery: number;
  readonly profileDir: string | undefined;
  readonly backends: ReadonlySet<Backend>;
  readonly s3Bytes: number;
  readonly pushBytes: number;
  readonly json: boolean;
}

const BACKENDS = ['fs', 's3'] as const;
type Backend = (typeof BACKENDS)[number];

interface Timed {
  readonly seconds: number[];
  readonly medianSeconds: number;
  readonly mbps: number;
  /** Server process CPU (user + system) per chunk over all measured runs, in µs. */
  readonly serverCpuUsPerChunk: number | undefined;
}

interface WrkRow extends WrkResult {
  readonly tool: string;
  /** CPU (user + system) of the serving processes per request, in µs (nginx: master + workers). */
  readonly serverCpuUsPerRequest: number | undefined;
  /** Our req/s divided by this row's. */
  readonly ratioToNginx: number;
}

interface SetResult {
  readonly avgKiB: number;
  readonly params: { min: number; avg: number; max: number };
  readonly chunks: number;
  readonly bytes: number;
  readonly meanChunkBytes: number;
  readonly upload: { seconds: number; mbps: number; concurrency: number };
  readonly fetchClient: Timed;
  readonly fetchRaw: Timed & { wireBytes: number };
  readonly wrk: WrkRow[];
  readonly deltas: DeltaFetchResult | undefined;
}

/** One batched fetch of the edited image's new chunks. */
interface DeltaFetch {
  readonly seconds: number;
  /** Target (chunk) bytes delivered per second, MB = 10^6. */
  readonly mbps: number;
  /** Response body bytes: framing and payloads (deltas or chunks). */
  readonly wireBytes: number;
  /** Chunks the client decoded from deltas. */
  readonly chunksAsDeltas: number;
  /** The server's delta counters (/metrics) during the fetch. */
  readonly server: DeltaServerStats;
  /** Server process CPU (user + system) during the fetch, seconds. */
  readonly serverCpuSeconds: number | undefined;
}

interface DeltaFetchResult {
  readonly baseBytes: number;
  readonly every: number;
  /** The edited image's chunks its base lacks: the ids fetched. */
  readonly chunks: number;
  readonly targetBytes: number;
  /** Of them, how many had bases named, and how many bases on average. */
  readonly withBases: number;
  readonly meanBases: number;
  readonly plain: DeltaFetch;
  /** Naming bases, on an empty delta cache. */
  readonly cold: DeltaFetch;
  /** The same fetch again. */
  readonly cached: DeltaFetch;
}

function log(line: string): void {
  process.stderr.write(`[server] ${line}\n`);
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      bytes: { type: 'string' },
      avg: { type: 'string' },
      seconds: { type: 'string' },
      runs: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string' },
      'upload-concurrency': { type: 'string' },
      'fetch-concurrency': { type: 'string' },
      'delta-bytes': { type: 'string' },
      'delta-every': { type: 'string' },
      profile: { type: 'string' },
      backends: { type: 'string' },
      's3-bytes': { type: 'string' },
      'push-bytes': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const avgKiB = (values.avg ?? env.BENCH_AVG_KIB ?? '64,32').split(',').map((s) => positive(s, '--avg'));
  return {
    bytes: parseSize(values.bytes ?? env.BENCH_BYTES ?? '1G'),
    avgKiB,
    seconds: Math.round(positive(values.seconds ?? env.BENCH_SECONDS ?? '10', '--seconds')),
    runs: Math.round(positive(values.runs ?? env.BENCH_RUNS ?? '3', '--runs')),
    connections: Math.round(positive(values.connections ?? env.BENCH_CONNECTIONS ?? '32', '--connections')),
    threads: Math.round(positive(values.threads ?? env.BENCH_THREADS ?? '2', '--threads')),
    uploadConcurrency: Math.round(positive(values['upload-concurrency'] ?? '8', '--upload-concurrency')),
    fetchConcurrency: Math.round(positive(values['fetch-concurrency'] ?? '4', '--fetch-concurrency')),
    deltaBytes: parseDeltaBytes(values['delta-bytes'] ?? env.BENCH_DELTA_BYTES ?? '256M'),
    deltaEvery: positive(values['delta-every'] ?? '4', '--delta-every'),
    profileDir: values.profile ? resolve(values.profile) : undefined,
    backends: parseBackends(values.backends ?? 'fs,s3'),
    s3Bytes: parseSize(values['s3-bytes'] ?? '256M'),
    pushBytes: parseSize(values['push-bytes'] ?? '1G'),
    json: values.json,
  };
}

function parseBackends(text: string): Set<Backend> {
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(BACKENDS as readonly string[]).includes(name)) throw new Error(`--backends: unknown backend ${JSON.stringify(name)} (use fs, s3 or fs,s3)`);
  }
  return new Set(names as Backend[]);
}

function parseDeltaBytes(text: string): number {
  return text.trim() === '0' ? 0 : parseSize(text);
}

function findTool(name: string): string {
  const found = which(name) ?? ['/usr/sbin', '/sbin'].map((dir) => `${dir}/${name}`).find((path) => existsSync(path));
  if (!found) throw new Error(`${name} is not installed: run bin/setup (it installs nginx and wrk)`);
  return found;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function timed(seconds: number[], bytes: number, cpuSeconds: number | undefined, chunks: number): Timed {
  const medianSeconds = median(seconds);
  const serverCpuUsPerChunk = cpuSeconds === undefined ? undefined : (cpuSeconds * 1e6) / (chunks * seconds.length);
  return { seconds, medianSeconds, mbps: bytes / MB / medianSeconds, serverCpuUsPerChunk };
}

/** Runs `work` and returns its result with the CPU seconds process `pid` (and its children) used meanwhile. */
async function withCpu<T>(pid: number | undefined, work: () => Promise<T>): Promise<{ result: T; cpuSeconds: number | undefined }> {
  const before = pid === undefined ? undefined : await processCpuSeconds(pid);
  const result = await work();
  const after = pid === undefined ? undefined : await processCpuSeconds(pid);
  return { result, cpuSeconds: before === undefined || after === undefined ? undefined : after - before };
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  const random = seededUnit(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A few ids fetched from both servers must be the same bytes: wrk only counts, it never checks. */
async function checkSameBytes(ids: readonly string[], ours: string, nginx: string): Promise<void> {
  for (const id of ids) {
    for (const base of [ours, nginx]) {
      const response = await fetch(`${base}/v1/chunks/${id}`);
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (response.status !== 200 || chunkId(bytes) !== id) {
        throw new Error(`GET ${base}/v1/chunks/${id}: HTTP ${response.status}, ${bytes.length} bytes that do not hash to the id`);
      }
    }
  }
}

/**
 * Chunks as deltas: a random image of --delta-bytes and an edited copy pushed to `server`; the
 * copy's new chunks fetched plain, then naming bases (cold delta cache), then the same again.
 */
async function measureDeltas(
  avgKiB: number,
  options: Options,
  server: { url: string; pid: number | undefined },
  token: string,
  cleanup: CleanupStack,
): Promise<DeltaFetchResult> {
  const params = cdcParams(Math.round(avgKiB * KiB));
  log(`avg ${avgKiB} KiB, chunks as deltas: ${formatBytes(options.deltaBytes)} image and a copy with 1 chunk in ${options.deltaEvery} edited`);
  const base = randomImage(options.deltaBytes, params, Math.round(avgKiB * 1000) + 1);
  const { image: next, edited } = editedImage(base, params, options.deltaEvery, Math.round(avgKiB * 1000) + 2);
  const pusher = new ChunkServerClient({ url: server.url, token });
  const closePusher = cleanup.add('close delta push client', () => pusher.close());
  const push = async (image: RandomImage, chunks: readonly ImageChunk[]) => {
    await forEachBounded(chunks, options.uploadConcurrency, async (chunk, _index, signal) => {
      await pusher.putChunk(chunk.id, chunk.bytes!, { signal });
    });
    const committed = await pusher.putManifest(image.fingerprint, image.manifest);
    if (committed !== 'created') throw new Error(`manifest ${image.fingerprint} was ${committed}, expected created`);
  };
  await push(base, [base.metadata, ...base.rootfs]);
  await push(next, edited);
  await closePusher();

  // What a host holding `base` names, as `chunk pull` does: the chunks each new one replaced.
  const held = new Map(base.rootfs.map((chunk) => [chunk.id, chunk.bytes!]));
  const ids = [...new Set(edited.map((chunk) => chunk.id))].filter((id) => !held.has(id));
  const lacking = new Set(ids);
  const replaced = new ReplacedChunks([base.rootfs.map(({ id, length }) => ({ id, length }))]);
  replaced.plan(
    next.rootfs.map(({ id, length }) => ({ id, length })),
    (id) => lacking.has(id),
  );
  const deltaBases: DeltaBaseSource = { basesFor: (id) => replaced.basesFor(id), read: async (id) => held.get(id) };
  const named = ids.map((id) => replaced.basesFor(id)?.length ?? 0);
  const targetBytes = edited.filter((chunk) => lacking.has(chunk.id)).reduce((sum, chunk) => sum + chunk.length, 0);

  const fetchOnce = async (withBases: boolean): Promise<DeltaFetch> => {
    const client = new ChunkServerClient({ url: server.url, concurrency: options.fetchConcurrency });
    try {
      const before = await scrapeMetrics(server.url);
      let delivered = 0;
      const { result, cpuSeconds } = await withCpu(server.pid, async () => {
        const started = performance.now();
        const fetched = await client.fetchChunks(ids, (_id, bytes) => {
          delivered += bytes.length;
        }, withBases ? { deltaBases } : {});
        return { fetched, seconds: (performance.now() - started) / 1000 };
      });
      if (result.fetched.missing.length > 0 || delivered !== targetBytes) {
        throw new Error(`delta fetch: ${result.fetched.missing.length} missing, ${delivered} of ${targetBytes} bytes delivered`);
      }
      const stats = deltaStatsBetween(before, await scrapeMetrics(server.url));
      return {
        seconds: result.seconds,
        mbps: targetBytes / MB / result.seconds,
        wireBytes: client.bytesReceived,
        chunksAsDeltas: client.chunksAsDeltas,
        server: stats,
        serverCpuSeconds: cpuSeconds,
      };
    } finally {
      await client.close();
    }
  };
  log(`fetching ${formatCount(ids.length)} new chunks (${formatBytes(targetBytes)}): plain (after a warm-up), naming bases on an empty delta cache, again`);
  await fetchOnce(false);
  const plain = await fetchOnce(false);
  const cold = await fetchOnce(true);
  const cached = await fetchOnce(true);
  if (cold.server.cacheHits > 0) log(`the "cold" fetch found ${cold.server.cacheHits} deltas in the cache: the cache was not empty`);
  return {
    baseBytes: base.rootfsBytes,
    every: options.deltaEvery,
    chunks: ids.length,
    targetBytes,
    withBases: named.filter((n) => n > 0).length,
    meanBases: named.reduce((sum, n) => sum + n, 0) / Math.max(1, named.filter((n) => n > 0).length),
    plain,
    cold,
    cached,
  };
}

async function runSet(avgKiB: number, options: Options, workDir: string, cleanup: CleanupStack, tools: { wrk: string; nginx: string }): Promise<SetResult> {
  const params = cdcParams(Math.round(avgKiB * KiB));
  log(`avg ${avgKiB} KiB: generating ${formatBytes(options.bytes)} of random chunks (min/avg/max ${params.min}/${params.avg}/${params.max})`);
  const image = randomImage(options.bytes, params, Math.round(avgKiB * 1000));
  const ids = image.rootfs.map((chunk) => chunk.id);

  const dataDir = join(workDir, `data-${avgKiB}k`);
  const removeData = cleanup.add(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  const server = await startChunkServer({ root, dataDir, ...(options.profileDir ? { cpuProfileDir: options.profileDir } : {}) });
  const stopServer = cleanup.add('stop chunk serve', () => server.stop());
  log(`server ${server.url} (pid ${server.process.pid}) on ${dataDir}`);

  // Upload: a CI push of a whole new image.
  const token = await createToken(root, dataDir, 'bench', 'push');
  const pusher = new ChunkServerClient({ url: server.url, token });
  const closePusher = cleanup.add('close push client', () => pusher.close());
  log(`uploading ${formatCount(ids.length + 1)} chunks, ${options.uploadConcurrency} in flight`);
  const uploadSeconds = await uploadChunks(pusher, [image.metadata, ...image.rootfs], options.uploadConcurrency, { dropBytes: true });
  const committed = await pusher.putManifest(image.fingerprint, image.manifest);
  if (committed !== 'created') throw new Error(`manifest ${image.fingerprint} was ${committed}, expected created`);
  await closePusher();

  // Batched fetch, anonymous (the image is public), as a host does it.
  const reader = new ChunkServerClient({ url: server.url, concurrency: options.fetchConcurrency });
  const closeReader = cleanup.add('close fetch client', () => reader.close());
  const clientFetch = async (): Promise<number> => {
    let delivered = 0;
    const started = performance.now();
    const result = await reader.fetchChunks(ids, (_id, bytes) => {
      delivered += bytes.length;
    });
    const seconds = (performance.now() - started) / 1000;
    if (result.missing.length > 0 || delivered !== image.rootfsBytes) {
      throw new Error(`fetchChunks: ${result.missing.length} missing, ${delivered} of ${image.rootfsBytes} bytes delivered`);
    }
    return seconds;
  };
  const expectedWire = batchWireBytes(ids.length, image.rootfsBytes, MAX_FETCH_IDS);
  const rawFetch = async (): Promise<number> => {
    const result = await rawBatchFetch(server.url, ids, MAX_FETCH_IDS, options.fetchConcurrency);
    if (result.wireBytes !== expectedWire) throw new Error(`raw fetch: ${result.wireBytes} bytes, expected ${expectedWire}`);
    return result.seconds;
  };
  log(`batched fetch: 1 warm-up + ${options.runs} runs each of fetchChunks and raw POST /v1/chunks/fetch`);
  await clientFetch();
  await rawFetch();
  const clientSeconds: number[] = [];
  const rawSeconds: number[] = [];
  let clientCpu: number | undefined = 0;
  let rawCpu: number | undefined = 0;
  const serverPid = server.process.pid;
  for (let run = 0; run < options.runs; run++) {
    const client = await withCpu(serverPid, clientFetch);
    clientSeconds.push(client.result);
    clientCpu = clientCpu === undefined || client.cpuSeconds === undefined ? undefined : clientCpu + client.cpuSeconds;
    const raw = await withCpu(serverPid, rawFetch);
    rawSeconds.push(raw.result);
    rawCpu = rawCpu === undefined || raw.cpuSeconds === undefined ? undefined : rawCpu + raw.cpuSeconds;
  }
  await closeReader();

  const deltas = options.deltaBytes > 0 ? await measureDeltas(avgKiB, options, { url: server.url, pid: serverPid }, token, cleanup) : undefined;

  // Single-chunk GETs: our server, then nginx on the same files.
  const idsFile = join(workDir, `ids-${avgKiB}k.txt`);
  await writeFile(idsFile, `${shuffled(ids, 7).join('\n')}\n`);
  const script = await writeWrkScript(workDir);
  const wrkAgainst = async (url: string, pid: number | undefined): Promise<WrkResult & { cpuSeconds: number | undefined }> => {
    const base = { wrk: tools.wrk, url, script, idsFile, threads: options.threads, connections: options.connections };
    await runWrk({ ...base, seconds: Math.min(2, options.seconds) }, cleanup); // warm-up: JIT, connections, caches
    const { result, cpuSeconds } = await withCpu(pid, () => runWrk({ ...base, seconds: options.seconds }, cleanup));
    const { connect, read, write, status, timeout } = result.errors;
    if (status > 0) throw new Error(`wrk against ${url}: ${status} non-2xx answers`);
    if (connect + read + write + timeout > 0) log(`wrk against ${url}: socket errors ${JSON.stringify(result.errors)}`);
    return { ...result, cpuSeconds };
  };
  log(`wrk -t${options.threads} -c${options.connections} -d${options.seconds}s: our server`);
  const ours = await wrkAgainst(server.url, serverPid);

  const nginxRuns: Array<{ workers: number; result: WrkResult & { cpuSeconds: number | undefined } }> = [];
  const cpus = availableParallelism();
  for (const workers of [...new Set([cpus, 1])]) {
    const nginx = await startNginx({ nginx: tools.nginx, prefix: join(workDir, `nginx-${avgKiB}k-${workers}`), chunksDir: join(dataDir, 'chunks'), workers });
    const stopNginx = cleanup.add('stop nginx', () => nginx.stop());
    await checkSameBytes([ids[0]!, ids[ids.length >> 1]!, ids[ids.length - 1]!], server.url, nginx.url);
    log(`wrk: nginx, ${workers} worker(s), ${nginx.url}`);
    nginxRuns.push({ workers, result: await wrkAgainst(nginx.url, nginx.pid) });
    await stopNginx();
  }
  await stopServer();
  await removeData();

  const headline = nginxRuns[0]!.result.requestsPerSecond;
  const row = (tool: string, { cpuSeconds, ...result }: WrkResult & { cpuSeconds: number | undefined }, ratioToNginx: number): WrkRow => ({
    tool,
    ...result,
    serverCpuUsPerRequest: cpuSeconds === undefined ? undefined : (cpuSeconds * 1e6) / result.requests,
    ratioToNginx,
  });
  const wrk: WrkRow[] = [
    row('lxchunk server', ours, ours.requestsPerSecond / headline),
    ...nginxRuns.map(({ workers, result }) =>
      row(`nginx (${workers} worker${workers === 1 ? '' : 's'})`, result, ours.requestsPerSecond / result.requestsPerSecond),
    ),
  ];
  return {
    avgKiB,
    params,
    chunks: ids.length,
    bytes: image.rootfsBytes,
    meanChunkBytes: image.rootfsBytes / ids.length,
    upload: { seconds: uploadSeconds, mbps: (image.rootfsBytes + image.metadata.length) / MB / uploadSeconds, concurrency: options.uploadConcurrency },
    fetchClient: timed(clientSeconds, image.rootfsBytes, clientCpu, ids.length),
    fetchRaw: { ...timed(rawSeconds, image.rootfsBytes, rawCpu, ids.length), wireBytes: expectedWire },
    wrk,
    deltas,
  };
}

function micros(value: number | undefined): string {
  return value === undefined ? '?' : value.toFixed(0);
}

function report(options: Options, sets: readonly SetResult[], s3: S3BackendResult | undefined, load: { start: number; end: number }): void {
  const cpus = availableParallelism();
  const fetchMet = sets.every((s) => s.fetchClient.mbps >= FETCH_TARGET_MBPS);
  const getMet = sets.every((s) => s.wrk[0]!.ratioToNginx >= GET_TARGET_RATIO);
  const s3FetchRatio = s3 === undefined ? undefined : s3.fetchClient.mbps / s3.sdkGets.mbps;
  if (options.json) {
    console.log(
      JSON.stringify({
        bytes: options.bytes,
        cpus,
        runs: options.runs,
        wrk: { seconds: options.seconds, threads: options.threads, connections: options.connections },
        fetchConcurrency: options.fetchConcurrency,
        delta: { bytes: options.deltaBytes, every: options.deltaEvery },
        loadAverage1m: load,
        sets,
        s3,
        targets: {
          fetchMBps: FETCH_TARGET_MBPS,
          fetchMet,
          getRatioToNginx: GET_TARGET_RATIO,
          getMet,
          ...(s3FetchRatio === undefined ? {} : { s3FetchRatioToSdk: S3_FETCH_TARGET_RATIO, s3FetchRatio, s3FetchMet: s3FetchRatio >= S3_FETCH_TARGET_RATIO }),
        },
      }),
    );
    return;
  }
  if (sets.length > 0) reportFs(options, sets, load);
  else console.log(`loopback, ${cpus} CPUs; 1-minute load average: ${load.start.toFixed(2)} before the start, ${load.end.toFixed(2)} at the end\n`);
  if (s3) console.log(`\n${renderS3Backend(s3, options)}`);
}

/** The filesystem + SQLite part, as text. */
function reportFs(options: Options, sets: readonly SetResult[], load: { start: number; end: number }): void {
  const cpus = availableParallelism();
  const label = (s: SetResult) => `${s.avgKiB} KiB avg`;
  console.log(
    `${formatBytes(options.bytes)} of random data per image in CDC-like chunk lengths (min avg/4 + exponential, max avg×4), ` +
      `loopback, ${cpus} CPUs, server with --no-fsync\n` +
      `upload: putChunk, ${options.uploadConcurrency} in flight; fetch: ${options.fetchConcurrency} batches of ≤${MAX_FETCH_IDS} ids in flight, ` +
      `median of ${options.runs} runs after a warm-up; MB = 10^6 bytes of chunk payload; ` +
      `server CPU = user + system time of the serving processes (from /proc) per chunk or request\n` +
      `1-minute load average: ${load.start.toFixed(2)} before the start, ${load.end.toFixed(2)} at the end (this benchmark included) ` +
      `(anything else running on these ${cpus} CPUs skews every number)\n`,
  );
  console.log(
    renderTable(
      [
        { header: 'chunks', align: 'left' },
        { header: 'count', align: 'right' },
        { header: 'mean', align: 'right' },
        { header: 'upload MB/s', align: 'right' },
        { header: 'fetchChunks MB/s', align: 'right' },
        { header: 'raw fetch MB/s', align: 'right' },
        { header: 'fetchChunks chunks/s', align: 'right' },
        { header: 'server CPU µs/chunk (client, raw)', align: 'right' },
      ],
      sets.map((s) => [
        label(s),
        formatCount(s.chunks),
        formatBytes(s.meanChunkBytes),
        s.upload.mbps.toFixed(0),
        s.fetchClient.mbps.toFixed(0),
        s.fetchRaw.mbps.toFixed(0),
        formatCount(s.chunks / s.fetchClient.medianSeconds),
        `${micros(s.fetchClient.serverCpuUsPerChunk)}, ${micros(s.fetchRaw.serverCpuUsPerChunk)}`,
      ]),
    ),
  );
  console.log(`\nsingle-chunk GET /v1/chunks/<id>, wrk -t${options.threads} -c${options.connections} -d${options.seconds}s over all ids (shuffled); MB/s as wrk counts (headers included)\n`);
  const rows: Row[] = [];
  for (const s of sets) {
    if (rows.length > 0) rows.push(SEPARATOR);
    for (const row of s.wrk) {
      rows.push([
        label(s),
        row.tool,
        formatCount(row.requestsPerSecond),
        (row.bytes / MB / row.seconds).toFixed(0),
        (row.latency.p50 / 1000).toFixed(2),
        (row.latency.p99 / 1000).toFixed(2),
        micros(row.serverCpuUsPerRequest),
        row.tool.startsWith('nginx') ? `${row.ratioToNginx.toFixed(2)}` : '',
      ]);
    }
  }
  console.log(
    renderTable(
      [
        { header: 'chunks', align: 'left' },
        { header: 'tool', align: 'left' },
        { header: 'req/s', align: 'right' },
        { header: 'MB/s', align: 'right' },
        { header: 'p50 ms', align: 'right' },
        { header: 'p99 ms', align: 'right' },
        { header: 'server CPU µs/req', align: 'right' },
        { header: 'ours ÷ this', align: 'right' },
      ],
      rows,
    ),
  );
  const withDeltas = sets.filter((s) => s.deltas !== undefined);
  if (withDeltas.length > 0) {
    const first = withDeltas[0]!.deltas!;
    console.log(
      `\nchunks as deltas: a ${formatBytes(first.baseBytes)} random image and a copy with about 1 chunk in ${first.every} changed ` +
        `(two 32-byte overwrites, one 16-byte insertion); one fetchChunks of the copy's new chunks, as a host holding the first ` +
        `fetches them: plain, then naming the chunks they replaced as bases (ReplacedChunks) on an empty delta cache (cold), then ` +
        `the same again (cached). MB/s = chunk bytes delivered (decoded, verified) per second; wire = response bytes; ` +
        `computed / hits and compute time from the server's /metrics (zstd on its event loop); server CPU = its process's user + system.\n`,
    );
    const rows: Row[] = [];
    for (const s of withDeltas) {
      const d = s.deltas!;
      if (rows.length > 0) rows.push(SEPARATOR);
      for (const [what, f] of [
        ['plain', d.plain],
        ['deltas, cold', d.cold],
        ['deltas, cached', d.cached],
      ] as const) {
        rows.push([
          `${label(s)}: ${formatCount(d.chunks)} chunks, ${formatBytes(d.targetBytes)}`,
          what,
          f.mbps.toFixed(0),
          `${formatBytes(f.wireBytes)} (${((100 * f.wireBytes) / d.targetBytes).toFixed(f.wireBytes < d.targetBytes / 10 ? 2 : 1)}%)`,
          formatCount(f.chunksAsDeltas),
          `${formatCount(f.server.deltasComputed)} / ${formatCount(f.server.cacheHits)}`,
          f.server.deltasComputed > 0 ? `${((f.server.computeSeconds / f.server.deltasComputed) * 1e6).toFixed(0)}` : '-',
          f.serverCpuSeconds === undefined ? '?' : ((f.serverCpuSeconds * 1e6) / d.chunks).toFixed(0),
          `${(f.seconds * 1000).toFixed(0)}`,
        ]);
      }
    }
    console.log(
      renderTable(
        [
          { header: 'chunks', align: 'left' },
          { header: 'fetch', align: 'left' },
          { header: 'MB/s', align: 'right' },
          { header: 'wire (of chunk bytes)', align: 'right' },
          { header: 'as deltas', align: 'right' },
          { header: 'computed / cache hits', align: 'right' },
          { header: 'compute µs/delta', align: 'right' },
          { header: 'server CPU µs/chunk', align: 'right' },
          { header: 'ms', align: 'right' },
        ],
        rows,
      ),
    );
    console.log(
      withDeltas
        .map((s) => `${label(s)}: ${formatCount(s.deltas!.withBases)} of ${formatCount(s.deltas!.chunks)} chunks named bases (${s.deltas!.meanBases.toFixed(1)} on average)`)
        .join('; '),
    );
  }
  console.log('');
  for (const s of sets) {
    const fetchOk = s.fetchClient.mbps >= FETCH_TARGET_MBPS;
    const ratio = s.wrk[0]!.ratioToNginx;
    console.log(
      `${label(s)}: batched fetch ${s.fetchClient.mbps.toFixed(0)} MB/s (target ≥ ${FETCH_TARGET_MBPS}): ${fetchOk ? 'met' : 'NOT met'}; ` +
        `single GET ${ratio.toFixed(2)}× ${s.wrk[1]!.tool} (target ≥ ${GET_TARGET_RATIO}): ${ratio >= GET_TARGET_RATIO ? 'met' : 'NOT met'}`,
    );
  }
}

async function main(): Promise<void> {
  const options = parseOptions(benchArgs(), process.env);
  const withFs = options.backends.has('fs');
  const tools = withFs ? { wrk: findTool('wrk'), nginx: findTool('nginx') } : undefined;
  const cleanup = new CleanupStack();
  const removeSignalHandlers = cleanup.onSignals();
  try {
    const workDir = join(root, '.bench-cache', `server-${process.pid}`);
    await mkdir(workDir, { recursive: true });
    cleanup.add(`remove ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
    if (options.profileDir) await mkdir(options.profileDir, { recursive: true });
    const sets: SetResult[] = [];
    const loadAtStart = loadavg()[0]!;
    if (loadAtStart > 0.5) log(`the 1-minute load average is ${loadAtStart.toFixed(2)}: other work on this machine will skew the numbers`);
    if (tools) for (const avgKiB of options.avgKiB) sets.push(await runSet(avgKiB, options, workDir, cleanup, tools));
    const s3 = options.backends.has('s3')
      ? await measureS3Backend(
          {
            root,
            workDir,
            avgKiB: options.avgKiB[0]!,
            fetchBytes: options.s3Bytes,
            pushBytes: options.pushBytes,
            runs: options.runs,
            uploadConcurrency: options.uploadConcurrency,
            fetchConcurrency: options.fetchConcurrency,
            profileDir: options.profileDir,
            log,
          },
          cleanup,
        )
      : undefined;
    report(options, sets, s3, { start: loadAtStart, end: loadavg()[0]! });
  } finally {
    await cleanup.runAll();
    removeSignalHandlers();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
