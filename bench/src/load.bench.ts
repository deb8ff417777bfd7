/**
 * `pnpm bench:load`: many hosts pulling from one server at once. One real `chunk serve`; one image
 * (a random rootfs, like an xz squashfs, and a metadata tarball) pushed with `chunk push`; then
 * PULLS real `chunk pull` processes started together, each its own process as each host is, while
 * long-polls wait on /v1/changes (an alias is created and deleted as pulls finish, to wake them).
 * Reports errors, pull latency (p50/p99, process start to exit), aggregate throughput and the
 * server's memory: VmRSS sampled during the load and VmHWM (its lifetime peak) from /proc.
 * Run: node bench/dist/load.bench.js [--bytes 32M] [--pulls 50] [--long-polls 10] [--json] [--out DIR]
 */
import { availableParallelism, loadavg } from 'node:os';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChunkServerClient } from '@lxchunk/client';
import { parseBenchArgs, parseSize, positive } from './bench-args.js';
import { createToken, startChunkServer } from './chunk-server-process.js';
import type { PullJson as PullOutput } from './cli-json.js';
import { runBench, type CleanupStack } from './cleanup-stack.js';
import { run } from './exec.js';
import { writeMetadataTarball } from './metadata-tarball.js';
import { percentile } from './percentile.js';
import { processCpuSeconds } from './process-cpu.js';
import { ensureRandomFile, warmPageCache } from './random-file.js';
import { formatBytes } from './units.js';

const USAGE = `usage: node bench/dist/load.bench.js [options]

  --bytes SIZE       rootfs bytes (default 32M; env BENCH_BYTES); random data, cached in
                     .bench-cache/random-<bytes>.bin (shared with the other benches)
  --pulls N          concurrent \`chunk pull\` processes (default 50; env BENCH_PULLS)
  --long-polls N     concurrent GET /v1/changes long-polls during the pulls (default 10)
  --out DIR          where load.txt and load.json go (default bench/results)
  --json             also print the JSON on stdout
Scratch data lives in .bench-cache/load-<pid>/ and is removed at the end.`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cacheDir = join(root, '.bench-cache');
const chunkBin = join(root, 'bin/chunk');
const MB = 1e6;
const ALIAS = 'bench/load';
/** Created and deleted as pulls finish: each change wakes every long-poll. */
const TICK_ALIAS = 'bench/load-tick';
const LONG_POLL_WAIT_SECONDS = 30;
const RSS_SAMPLE_MS = 50;
const TARGET_ERRORS = 0;
const TARGET_RSS_BYTES = 300 * MB;

interface Options {
  readonly bytes: number;
  readonly pulls: number;
  readonly longPolls: number;
  readonly out: string;
  readonly json: boolean;
}

interface LoadResult {
  readonly bytes: number;
  readonly imageBytes: number;
  readonly chunks: number;
  readonly pulls: number;
  readonly longPolls: number;
  readonly cpus: number;
  readonly loadAverage1m: { start: number; end: number };
  readonly errors: { pulls: string[]; longPolls: string[] };
  readonly pullSeconds: { p50: number; p99: number; min: number; max: number };
  readonly wallSeconds: number;
  /** Chunk bytes the pulls received (bytesFetched, summed) over the wall time of the whole phase. */
  readonly throughputMBps: number;
  readonly longPollAnswers: number;
  readonly aliasChanges: number;
  readonly server: { idleRssBytes: number; peakRssBytesDuringLoad: number; vmHwmBytes: number; cpuSeconds: number | undefined };
  readonly targets: { errors: number; rssBytes: number; errorsMet: boolean; rssMet: boolean };
}

function log(line: string): void {
  process.stderr.write(`[load] ${line}\n`);
}

function parseOptions(env: NodeJS.ProcessEnv): Options {
  const values = parseBenchArgs(['bytes', 'pulls', 'long-polls', 'out'], USAGE);
  return {
    bytes: parseSize(values.bytes ?? env.BENCH_BYTES ?? '32M'),
    pulls: Math.round(positive(values.pulls ?? env.BENCH_PULLS ?? '50', '--pulls')),
    longPolls: Math.round(positive(values['long-polls'] ?? '10', '--long-polls')),
    out: resolve(values.out ?? join(root, 'bench/results')),
    json: values.json,
  };
}

/** A field of /proc/PID/status in bytes (VmRSS: now, VmHWM: the peak so far). */
async function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

/** Samples VmRSS until stopped; resolves with the largest value seen. */
function sampleRss(pid: number): { stop: () => Promise<number> } {
  let peak = 0;
  let reading: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    reading = reading.then(async () => {
      peak = Math.max(peak, await procStatusBytes(pid, 'VmRSS').catch(() => 0));
    });
  }, RSS_SAMPLE_MS);
  return {
    async stop() {
      clearInterval(timer);
      await reading;
      return peak;
    },
  };
}

/**
 * Long-polls /v1/changes as a fleet agent does, until `signal`: each answer starts the next poll
 * from the seq it returned. Failures are counted, not thrown, so one does not end the others.
 */
async function longPoll(url: string, token: string, signal: AbortSignal, errors: string[]): Promise<number> {
  const client = new ChunkServerClient({ url, token });
  let answers = 0;
  try {
    let since = (await client.changes(undefined, 0, { signal })).seq;
    while (!signal.aborted) {
      try {
        since = (await client.changes(since, LONG_POLL_WAIT_SECONDS, { signal })).seq;
        answers++;
      } catch (err) {
        if (signal.aborted) break;
        errors.push(`GET /v1/changes: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    await client.close();
  }
  return answers;
}

async function runLoad(options: Options, workDir: string, cleanup: CleanupStack): Promise<LoadResult> {
  await mkdir(cacheDir, { recursive: true });
  const rootfs = join(cacheDir, `random-${options.bytes}.bin`);
  if ((await ensureRandomFile(rootfs, options.bytes)).created) log(`wrote ${formatBytes(options.bytes)} of random data to ${rootfs}`);
  const metadata = join(workDir, 'metadata.tar.xz');
  await writeMetadataTarball(metadata);
  await warmPageCache(rootfs);
  const imageBytes = options.bytes + (await stat(metadata)).size;

  const dataDir = join(workDir, 'server-data');
  cleanup.add(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  const server = await startChunkServer({ root, dataDir });
  cleanup.add('stop chunk serve', () => server.stop());
  const pid = server.process.pid!;
  log(`server ${server.url} (pid ${pid}) on ${dataDir}`);
  const pushToken = await createToken(root, dataDir, 'bench-push', 'push');
  const readToken = await createToken(root, dataDir, 'bench-read', 'read');

  log(`chunk push of ${formatBytes(imageBytes)} with alias ${ALIAS}`);
  const pushed = JSON.parse(
    await run(chunkBin, ['push', '--server', server.url, '--json', '--alias', ALIAS, metadata, rootfs], { env: { ...process.env, LXCHUNK_TOKEN: pushToken } }),
  ) as { fingerprint: string; chunksTotal: number };

  const pusher = new ChunkServerClient({ url: server.url, token: pushToken });
  cleanup.add('close push client', () => pusher.close());
  const idleRssBytes = await procStatusBytes(pid, 'VmRSS');
  const cpuBefore = await processCpuSeconds(pid);
  const loadAtStart = loadavg()[0]!;

  log(`${options.pulls} concurrent chunk pull processes and ${options.longPolls} long-polls`);
  const rss = sampleRss(pid);
  const stopPolls = new AbortController();
  const pollErrors: string[] = [];
  const polls = Array.from({ length: options.longPolls }, () => longPoll(server.url, readToken, stopPolls.signal, pollErrors));
  let aliasChanges = 0;
  // One alias change at a time, so the create/delete pairs never race each other.
  let ticking: Promise<void> = Promise.resolve();
  const tick = () => {
    ticking = ticking.then(async () => {
      const current = await pusher.getAlias(TICK_ALIAS);
      if (current) await pusher.deleteAlias(TICK_ALIAS, current.version);
      else await pusher.setAlias(TICK_ALIAS, pushed.fingerprint, { absent: true });
      aliasChanges++;
    });
  };

  const pullErrors: string[] = [];
  const latencies: number[] = [];
  let bytesFetched = 0;
  let compared = false;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.pulls }, async (_, i) => {
      const out = join(workDir, `pull-${i}`);
      const begun = performance.now();
      try {
        const stdout = await run(chunkBin, ['pull', '--server', server.url, '--json', ALIAS, '--out', out], { env: { ...process.env, LXCHUNK_TOKEN: readToken } });
        latencies.push((performance.now() - begun) / 1000);
        const result = JSON.parse(stdout) as PullOutput;
        const pulledRootfs = result.files.find((file) => file.role !== 'metadata');
        if (result.fingerprint !== pushed.fingerprint || pulledRootfs?.size !== options.bytes || result.chunksFetched !== result.chunksTotal) {
          throw new Error(`pull ${i}: ${result.fingerprint}, rootfs ${pulledRootfs?.size} bytes, ${result.chunksFetched} of ${result.chunksTotal} chunks fetched`);
        }
        bytesFetched += result.bytesFetched;
        // One byte-for-byte check is enough: every pull verified each chunk and the file's sha256 itself.
        if (!compared) {
          compared = true;
          await run('cmp', ['--', pulledRootfs.path, rootfs]);
        }
      } catch (err) {
        pullErrors.push(err instanceof Error ? err.message.slice(0, 2000) : String(err));
      } finally {
        await rm(out, { recursive: true, force: true });
        tick();
      }
    }),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  await ticking.catch((err: unknown) => pollErrors.push(`alias tick: ${String(err)}`));
  stopPolls.abort();
  const longPollAnswers = (await Promise.all(polls)).reduce((sum, n) => sum + n, 0);
  const peakRssBytesDuringLoad = await rss.stop();
  const vmHwmBytes = await procStatusBytes(pid, 'VmHWM');
  const cpuAfter = await processCpuSeconds(pid);

  latencies.sort((a, b) => a - b);
  const errorCount = pullErrors.length + pollErrors.length;
  return {
    bytes: options.bytes,
    imageBytes,
    chunks: pushed.chunksTotal,
    pulls: options.pulls,
    longPolls: options.longPolls,
    cpus: availableParallelism(),
    loadAverage1m: { start: loadAtStart, end: loadavg()[0]! },
    errors: { pulls: pullErrors, longPolls: pollErrors },
    pullSeconds: latencies.length
      ? { p50: percentile(latencies, 50), p99: percentile(latencies, 99), min: latencies[0]!, max: latencies.at(-1)! }
      : { p50: NaN, p99: NaN, min: NaN, max: NaN },
    wallSeconds,
    throughputMBps: bytesFetched / MB / wallSeconds,
    longPollAnswers,
    aliasChanges,
    server: {
      idleRssBytes,
      peakRssBytesDuringLoad,
      vmHwmBytes,
      cpuSeconds: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
    },
    targets: { errors: TARGET_ERRORS, rssBytes: TARGET_RSS_BYTES, errorsMet: errorCount <= TARGET_ERRORS, rssMet: vmHwmBytes < TARGET_RSS_BYTES },
  };
}

function render(r: LoadResult): string {
  const mb = (bytes: number) => `${(bytes / MB).toFixed(0)} MB`;
  const errors = r.errors.pulls.length + r.errors.longPolls.length;
  return [
    `${r.pulls} concurrent \`chunk pull\` processes (each its own process, no cache, no seed) of one ${formatBytes(r.imageBytes)} image ` +
      `(${r.chunks} chunks, random data) from one \`chunk serve --no-fsync\` on loopback, with ${r.longPolls} GET /v1/changes long-polls ` +
      `(wait ${LONG_POLL_WAIT_SECONDS} s) woken by ${r.aliasChanges} alias changes; ${r.cpus} CPUs shared by server, pulls and anything else running; ` +
      `1-minute load average ${r.loadAverage1m.start.toFixed(2)} before, ${r.loadAverage1m.end.toFixed(2)} after.`,
    '',
    `errors:               ${errors} (pulls ${r.errors.pulls.length}, long-polls ${r.errors.longPolls.length})`,
    `pull latency:         p50 ${r.pullSeconds.p50.toFixed(2)} s, p99 ${r.pullSeconds.p99.toFixed(2)} s (min ${r.pullSeconds.min.toFixed(2)} s, max ${r.pullSeconds.max.toFixed(2)} s), process start to exit`,
    `throughput:           ${r.throughputMBps.toFixed(0)} MB/s of chunk bytes fetched, all pulls together (${r.wallSeconds.toFixed(1)} s wall)`,
    `long-poll answers:    ${r.longPollAnswers}`,
    `server RSS:           idle ${mb(r.server.idleRssBytes)}, peak sampled during the load ${mb(r.server.peakRssBytesDuringLoad)}, VmHWM (lifetime peak, push included) ${mb(r.server.vmHwmBytes)}`,
    `server CPU:           ${r.server.cpuSeconds === undefined ? '?' : `${r.server.cpuSeconds.toFixed(1)} s`} during the load`,
    '',
    `targets: errors = ${r.targets.errors}: ${r.targets.errorsMet ? 'met' : 'NOT met'}; server RSS (VmHWM) < ${mb(r.targets.rssBytes)}: ${r.targets.rssMet ? 'met' : 'NOT met'}`,
    ...(errors > 0 ? ['', 'first errors:', ...[...r.errors.pulls, ...r.errors.longPolls].slice(0, 5).map((e) => `  ${e.split('\n').slice(0, 6).join('\n    ')}`)] : []),
  ].join('\n');
}

runBench(async (cleanup) => {
  const options = parseOptions(process.env);
  const workDir = join(cacheDir, `load-${process.pid}`);
  await mkdir(workDir, { recursive: true });
  cleanup.add(`remove ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
  const result = await runLoad(options, workDir, cleanup);
  const text = render(result);
  console.log(text);
  await mkdir(options.out, { recursive: true });
  await writeFile(join(options.out, 'load.txt'), `${text}\n`);
  await writeFile(join(options.out, 'load.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (options.json) console.log(JSON.stringify(result));
  if (!result.targets.errorsMet || !result.targets.rssMet) process.exitCode = 1;
});
