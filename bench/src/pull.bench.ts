/**
 * `pnpm bench:pull`: `chunk push` and `chunk pull` of a 1 GiB image against a real `chunk serve`
 * on loopback, beside `casync make` / `casync extract` on the same files in the same run.
 *
 * For each round: a fresh server data dir, push (all chunks new), push again (all chunks present),
 * pull into a fresh dir with no seed (all chunks fetched), pull with the rootfs itself as seed
 * (every chunk local); then casync on a fresh local store: make (all new), make again (chunks
 * stored), extract from the store (all chunks read from the store) and extract with the rootfs as
 * seed. Every command is its own process, timed (wall) and measured (peak RSS) by /usr/bin/time.
 * Run: node bench/dist/pull.bench.js [--json] [--bytes 1G] [--runs N] [--casync-avg 32,64]
 */
import { availableParallelism, loadavg } from 'node:os';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createToken, startChunkServer, type ChunkServerProcess } from './chunk-server-process.js';
import { CleanupStack } from './cleanup-stack.js';
import type { PullJson as PullOutput, PushJson as PushOutput } from './cli-json.js';
import { machineBusyCpuSeconds, selfAndReapedChildrenCpuSeconds } from './cpu-accounting.js';
import { terminateDescendants } from './descendants.js';
import { run } from './exec.js';
import { measureCommand, which, type Measurement } from './measure.js';
import { measureJsonCommand } from './measure-json.js';
import { writeMetadataTarball } from './metadata-tarball.js';
import { processCpuSeconds } from './process-cpu.js';
import { ensureRandomFile, warmPageCache } from './random-file.js';
import { renderTable, SEPARATOR, type Row } from './text-table.js';
import { formatBytes, formatCount, KiB } from './units.js';
import { benchArgs, parseSize, positive } from './bench-args.js';

const USAGE = `usage: node bench/dist/pull.bench.js [options]

  --bytes SIZE        rootfs bytes, e.g. 1G, 128M (default 1G; env BENCH_BYTES); random data, cached
                      in .bench-cache/random-<bytes>.bin (shared with bench:chunk)
  --runs N            rounds, each on a fresh server and a fresh casync store; the median wall time
                      and the largest peak RSS are reported (default 1; env BENCH_RUNS)
  --casync-avg KIB,.. casync average chunk sizes in KiB, one column each; the first one is compared
                      with lxchunk (default 32,64: our default average, then casync's own default;
                      env BENCH_CASYNC_AVG)
  --json              print one JSON object with the raw numbers instead of the table
Scratch data (server data dir, pulled files, casync stores) lives in .bench-cache/pull-<pid>/ and is
removed at the end, also on failure or Ctrl-C.`;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cacheDir = join(root, '.bench-cache');
const chunkBin = join(root, 'bin/chunk');
const MB = 1e6;
/** casync's wall time over ours, per row. */
const TARGET_RATIO = 3;

interface Options {
  readonly bytes: number;
  readonly runs: number;
  readonly casyncAvgKiB: readonly number[];
  readonly json: boolean;
}

type OpName = 'push-new' | 'push-present' | 'pull-new' | 'pull-seeded';
type CasyncOpName = 'make-new' | 'make-stored' | 'extract-store' | 'extract-seeded';

const OPS: ReadonlyArray<{ op: OpName; casync: CasyncOpName; label: string; casyncLabel: string }> = [
  { op: 'push-new', casync: 'make-new', label: 'push, all chunks new', casyncLabel: 'make into a fresh store' },
  { op: 'push-present', casync: 'make-stored', label: 'push, all chunks present', casyncLabel: 'make, chunks stored' },
  { op: 'pull-new', casync: 'extract-store', label: 'pull, all chunks new', casyncLabel: 'extract, every chunk from the store' },
  { op: 'pull-seeded', casync: 'extract-seeded', label: 'pull, seed holds all', casyncLabel: 'extract --seed=ROOTFS' },
];

interface Timed extends Measurement {
  /**
   * CPU seconds the rest of the machine (other processes, kernel threads such as writeback) used
   * while the command ran: busy time from /proc/stat minus this benchmark's processes. Anything
   * large means the numbers are skewed by other work.
   */
  readonly otherCpuSeconds: number | undefined;
}

interface OurRun extends Timed {
  /** CPU (user + system) the server process used during the command. */
  readonly serverCpuSeconds: number | undefined;
  readonly output: PushOutput | PullOutput;
}

interface Round {
  readonly ours: Record<OpName, OurRun>;
  /** Keyed by casync average chunk size in KiB. */
  readonly casync: Record<string, Record<CasyncOpName, Timed>>;
}

interface Summary {
  readonly seconds: number[];
  readonly medianSeconds: number;
  readonly mbps: number;
  readonly peakRssBytes: number;
  /** Per run: CPU seconds used outside this benchmark while the command ran. */
  readonly otherCpuSeconds: ReadonlyArray<number | undefined>;
}

/** Other work on the machine beyond this share of its CPU time makes a measurement suspect. */
const OTHER_CPU_WARN_SHARE = 0.05;
/** /proc counts in 10 ms ticks: below this, short commands would warn on rounding alone. */
const OTHER_CPU_WARN_MIN_SECONDS = 0.25;

function log(line: string): void {
  process.stderr.write(`[pull] ${line}\n`);
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      bytes: { type: 'string' },
      runs: { type: 'string' },
      'casync-avg': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    bytes: parseSize(values.bytes ?? env.BENCH_BYTES ?? '1G'),
    runs: Math.round(positive(values.runs ?? env.BENCH_RUNS ?? '1', '--runs')),
    casyncAvgKiB: (values['casync-avg'] ?? env.BENCH_CASYNC_AVG ?? '32,64').split(',').map((s) => Math.round(positive(s, '--casync-avg'))),
    json: values.json,
  };
}

/**
 * Runs `measure` (one timed command) and accounts the CPU used meanwhile: by the server (`serverPid`,
 * a live child of ours) and by everything outside this benchmark's process tree.
 */
async function withCpuAccounting<T extends Measurement>(
  serverPid: number | undefined,
  measure: () => Promise<T>,
): Promise<T & { otherCpuSeconds: number | undefined; serverCpuSeconds: number | undefined }> {
  const read = async () => ({
    machine: await machineBusyCpuSeconds(),
    own: await selfAndReapedChildrenCpuSeconds(),
    server: serverPid === undefined ? 0 : await processCpuSeconds(serverPid),
  });
  const before = await read();
  const result = await measure();
  const after = await read();
  const delta = (key: 'machine' | 'own' | 'server') => {
    const [a, b] = [after[key], before[key]];
    return a === undefined || b === undefined ? undefined : a - b;
  };
  const [machine, own, server] = [delta('machine'), delta('own'), delta('server')];
  const otherCpuSeconds = machine === undefined || own === undefined || server === undefined ? undefined : Math.max(0, machine - own - server);
  return { ...result, otherCpuSeconds, serverCpuSeconds: serverPid === undefined ? undefined : server };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function summarize(runs: readonly Timed[], bytes: number): Summary {
  const seconds = runs.map((r) => r.seconds);
  const medianSeconds = median(seconds);
  return {
    seconds,
    medianSeconds,
    mbps: bytes / MB / medianSeconds,
    peakRssBytes: Math.max(...runs.map((r) => r.peakRssBytes)),
    otherCpuSeconds: runs.map((r) => r.otherCpuSeconds),
  };
}

/** Writes dirty pages back before a timed command, so one command's writeback is not billed to the next. */
async function settle(): Promise<void> {
  await run('sync', []);
}

/** Byte-identical or an error (cmp exits 1 on a difference, which `run` turns into a rejection). */
async function sameBytes(a: string, b: string): Promise<void> {
  await run('cmp', ['--', a, b]);
}

async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark sanity check failed: ${what}`);
}

async function ourRound(
  round: number,
  files: { metadata: string; rootfs: string; imageBytes: number; rootfsBytes: number },
  workDir: string,
  cleanup: CleanupStack,
): Promise<Record<OpName, OurRun>> {
  const dataDir = join(workDir, `server-data-${round}`);
  await rm(dataDir, { recursive: true, force: true });
  const removeData = cleanup.add(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  const server: ChunkServerProcess = await startChunkServer({ root, dataDir });
  const stopServer = cleanup.add('stop chunk serve', () => server.stop());
  log(`round ${round + 1}: server ${server.url} (pid ${server.process.pid}) on ${dataDir}`);
  const pushToken = await createToken(root, dataDir, 'bench-push', 'push');
  const readToken = await createToken(root, dataDir, 'bench-read', 'read');
  const stdoutFile = join(workDir, 'stdout.json');

  const timed = async <T extends PushOutput | PullOutput>(label: string, args: string[], token: string): Promise<OurRun & { output: T }> => {
    await settle();
    log(`round ${round + 1}: chunk ${label}`);
    return withCpuAccounting(server.process.pid, () => measureJsonCommand<T>(chunkBin, args, { stdoutFile, env: { LXCHUNK_TOKEN: token } }));
  };

  const pushArgs = ['push', '--server', server.url, '--json', files.metadata, files.rootfs];
  const pushNew = await timed<PushOutput>('push (all chunks new)', pushArgs, pushToken);
  check(pushNew.output.bytesTotal === files.imageBytes, `push reported bytesTotal ${pushNew.output.bytesTotal}, the image has ${files.imageBytes}`);
  check(pushNew.output.manifestStatus === 'created', `first push: manifest ${pushNew.output.manifestStatus}, expected created`);
  check(pushNew.output.chunksUploaded === pushNew.output.chunksTotal, `first push uploaded ${pushNew.output.chunksUploaded} of ${pushNew.output.chunksTotal} chunks`);
  const pushPresent = await timed<PushOutput>('push (all chunks present)', pushArgs, pushToken);
  check(pushPresent.output.chunksUploaded === 0, `second push uploaded ${pushPresent.output.chunksUploaded} chunks`);
  check(pushPresent.output.manifestStatus === 'exists', `second push: manifest ${pushPresent.output.manifestStatus}, expected exists`);
  const fingerprint = pushNew.output.fingerprint;

  const pull = async (label: string, seeded: boolean): Promise<OurRun & { output: PullOutput }> => {
    const out = join(workDir, `pull-${seeded ? 'seeded' : 'new'}`);
    await rm(out, { recursive: true, force: true });
    const removeOut = cleanup.add(`remove ${out}`, () => rm(out, { recursive: true, force: true }));
    const args = ['pull', '--server', server.url, '--json', fingerprint, '--out', out, ...(seeded ? ['--seed', files.rootfs] : [])];
    const result = await timed<PullOutput>(label, args, readToken);
    const rootfsOut = result.output.files.find((file) => file.role !== 'metadata');
    check(result.output.fingerprint === fingerprint, `pulled ${result.output.fingerprint}, expected ${fingerprint}`);
    check(rootfsOut?.size === files.rootfsBytes, `pulled rootfs is ${rootfsOut?.size} bytes, expected ${files.rootfsBytes}`);
    if (seeded) {
      check(result.output.bytesReused === files.rootfsBytes, `seeded pull reused ${result.output.bytesReused} of ${files.rootfsBytes} rootfs bytes`);
    } else {
      check(result.output.bytesReused === 0 && result.output.chunksFetched === result.output.chunksTotal, `unseeded pull reused ${result.output.bytesReused} bytes`);
      if (round === 0) {
        log('cmp: pulled rootfs against the original');
        await sameBytes(rootfsOut!.path, files.rootfs);
      }
    }
    await removeOut();
    return result;
  };
  const pullNew = await pull('pull (all chunks new)', false);
  const pullSeeded = await pull('pull --seed ROOTFS (all chunks local)', true);

  await stopServer();
  await removeData();
  return { 'push-new': pushNew, 'push-present': pushPresent, 'pull-new': pullNew, 'pull-seeded': pullSeeded };
}

async function casyncRound(
  round: number,
  casync: string,
  avgKiB: number,
  rootfs: string,
  workDir: string,
  cleanup: CleanupStack,
): Promise<Record<CasyncOpName, Timed>> {
  const dir = join(workDir, `casync-${avgKiB}k`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const removeDir = cleanup.add(`remove ${dir}`, () => rm(dir, { recursive: true, force: true }));
  const store = join(dir, 'store');
  const index = join(dir, 'index.caibx');
  const chunkSize = `--chunk-size=${avgKiB * KiB}`;
  const timed = async (label: string, args: string[]): Promise<Timed> => {
    await settle();
    log(`round ${round + 1}: casync ${label} (avg ${avgKiB} KiB)`);
    const { serverCpuSeconds: _none, ...measured } = await withCpuAccounting(undefined, () => measureCommand(casync, args));
    return measured;
  };
  const makeArgs = ['make', `--store=${store}`, chunkSize, index, rootfs];
  const makeNew = await timed('make (fresh store)', makeArgs);
  const makeStored = await timed('make (chunks stored)', makeArgs);

  const extract = async (label: string, seeded: boolean): Promise<Timed> => {
    const out = join(dir, `extract-${seeded ? 'seeded' : 'store'}.bin`);
    await rm(out, { force: true });
    const args = ['extract', `--store=${store}`, chunkSize, ...(seeded ? [`--seed=${rootfs}`] : []), index, out];
    const measured = await timed(label, args);
    check((await fileSize(out)) === (await fileSize(rootfs)), `casync extract wrote ${await fileSize(out)} bytes`);
    if (round === 0 && !seeded) await sameBytes(out, rootfs);
    await rm(out, { force: true });
    return measured;
  };
  const extractStore = await extract('extract (every chunk from the store)', false);
  const extractSeeded = await extract('extract --seed=ROOTFS', true);
  await removeDir();
  return { 'make-new': makeNew, 'make-stored': makeStored, 'extract-store': extractStore, 'extract-seeded': extractSeeded };
}

function report(options: Options, imageBytes: number, rounds: readonly Round[], load: { start: number; end: number }): void {
  const cpus = availableParallelism();
  const primary = String(options.casyncAvgKiB[0]);
  const rows = OPS.map(({ op, casync, label, casyncLabel }) => {
    const ours = summarize(
      rounds.map((r) => r.ours[op]),
      imageBytes,
    );
    const serverCpu = rounds.map((r) => r.ours[op].serverCpuSeconds);
    const peers = Object.fromEntries(
      options.casyncAvgKiB.map((avg) => {
        const summary = summarize(
          rounds.map((r) => r.casync[String(avg)]![casync]),
          imageBytes,
        );
        return [String(avg), { ...summary, ratio: summary.medianSeconds / ours.medianSeconds }];
      }),
    );
    const ratio = peers[primary]!.ratio;
    return {
      op,
      label,
      casyncOp: casync,
      casyncLabel,
      lxchunk: { ...ours, serverCpuSeconds: serverCpu, outputs: rounds.map((r) => r.ours[op].output) },
      casync: peers,
      ratio,
      met: ratio >= TARGET_RATIO,
    };
  });

  if (options.json) {
    console.log(
      JSON.stringify({
        imageBytes,
        rootfsBytes: options.bytes,
        runs: options.runs,
        cpus,
        loadAverage1m: load,
        casyncAvgKiB: options.casyncAvgKiB,
        targetRatio: TARGET_RATIO,
        rows,
      }),
    );
    return;
  }

  const others = options.casyncAvgKiB.slice(1).map(String);
  console.log(
    `image: ${formatBytes(options.bytes)} random rootfs (incompressible, like an xz squashfs) + ${formatBytes(imageBytes - options.bytes)} metadata tarball; ` +
      `${cpus} CPUs; ${options.runs === 1 ? 'one run' : `median of ${options.runs} runs`} per operation, page-cached input, \`sync\` before each\n` +
      `lxchunk: bin/chunk push/pull against \`chunk serve --no-fsync\` on 127.0.0.1 (a separate process on the same CPUs); ` +
      `casync ${primary} KiB avg (--chunk-size=${Number(primary) * KiB}, our average) on a local store, no network\n` +
      `MB/s = image bytes (10^6) / wall s; peak RSS = GNU time %M of the client process; ratio = casync s / lxchunk s (target ≥ ${TARGET_RATIO})\n` +
      `1-minute load average: ${load.start.toFixed(2)} at the start, ${load.end.toFixed(2)} at the end (this benchmark included)\n`,
  );
  const table: Row[] = [];
  for (const row of rows) {
    if (row.op === 'pull-new') table.push(SEPARATOR);
    table.push([
      row.label,
      row.lxchunk.medianSeconds.toFixed(2),
      row.casync[primary]!.medianSeconds.toFixed(2),
      `${row.ratio.toFixed(2)}×`,
      row.lxchunk.mbps.toFixed(0),
      (row.lxchunk.peakRssBytes / MB).toFixed(0),
      row.met ? 'met' : 'NOT met',
      ...others.flatMap((avg) => [row.casync[avg]!.medianSeconds.toFixed(2), `${row.casync[avg]!.ratio.toFixed(2)}×`]),
    ]);
  }
  console.log(
    renderTable(
      [
        { header: 'operation', align: 'left' },
        { header: 'lxchunk s', align: 'right' },
        { header: `casync s`, align: 'right' },
        { header: 'casync/lxchunk', align: 'right' },
        { header: 'lxchunk MB/s', align: 'right' },
        { header: 'lxchunk peak RSS MB', align: 'right' },
        { header: `≥ ${TARGET_RATIO}×`, align: 'left' },
        ...others.flatMap((avg) => [
          { header: `casync ${avg}K s`, align: 'right' as const },
          { header: `${avg}K/lxchunk`, align: 'right' as const },
        ]),
      ],
      table,
    ),
  );
  console.log('');
  console.log('casync peers: ' + rows.map((r) => `${r.label} ↔ casync ${r.casyncLabel} (peak RSS ${(r.casync[primary]!.peakRssBytes / MB).toFixed(0)} MB)`).join('; '));
  const detail = (r: (typeof rows)[number]): string => {
    const out = r.lxchunk.outputs[0]!;
    const cpu = r.lxchunk.serverCpuSeconds[0];
    const server = cpu === undefined ? '' : `, server CPU ${cpu.toFixed(2)} s`;
    if ('bytesUploaded' in out) return `${r.label}: uploaded ${formatBytes(out.bytesUploaded)}, ${formatCount(out.chunksUploaded)} of ${formatCount(out.chunksTotal)} chunks${server}`;
    return `${r.label}: fetched ${formatBytes(out.bytesFetched)}, reused ${formatBytes(out.bytesReused)}, ${formatCount(out.chunksFetched)} of ${formatCount(out.chunksTotal)} chunks over the wire${server}`;
  };
  for (const r of rows) console.log(detail(r));
  const suspects: string[] = [];
  for (const r of rows) {
    const check = (tool: string, summary: Summary) =>
      summary.otherCpuSeconds.forEach((other, i) => {
        const seconds = summary.seconds[i]!;
        if (other !== undefined && other > Math.max(OTHER_CPU_WARN_MIN_SECONDS, OTHER_CPU_WARN_SHARE * cpus * seconds)) {
          suspects.push(`${tool} ${r.label} run ${i + 1}: ${other.toFixed(1)} CPU s of ${(cpus * seconds).toFixed(1)}`);
        }
      });
    check('lxchunk', r.lxchunk);
    for (const [avg, summary] of Object.entries(r.casync)) check(`casync ${avg}K`, summary);
  }
  console.log(
    suspects.length === 0
      ? `\nother work on the machine: below ${OTHER_CPU_WARN_SHARE * 100}% of its CPU time during every timed command`
      : `\nWARNING: other processes used over ${OTHER_CPU_WARN_SHARE * 100}% of the machine's CPU time during: ${suspects.join('; ')} (those numbers are skewed)`,
  );
  if (options.runs > 1) {
    const list = (seconds: readonly number[]) => seconds.map((s) => s.toFixed(2)).join('/');
    console.log(`\nevery run (s), in order: ${rows.map((r) => `${r.label}: lxchunk ${list(r.lxchunk.seconds)}, casync ${list(r.casync[primary]!.seconds)}`).join('; ')}`);
  }
  console.log('');
  const push = rows.filter((r) => r.op.startsWith('push'));
  const pull = rows.filter((r) => r.op.startsWith('pull'));
  const verdict = (set: typeof rows) => (set.every((r) => r.met) ? 'met' : `NOT met (${set.filter((r) => !r.met).map((r) => r.label).join(', ')})`);
  console.log(`target: push ≥ ${TARGET_RATIO}× faster than casync make on the same work: ${verdict(push)}`);
  console.log(`target: pull ≥ ${TARGET_RATIO}× faster than casync extract on the same work: ${verdict(pull)}`);
}

/** Set on SIGINT/SIGTERM: the timed command then fails because it was stopped, which is no error to report. */
let interrupted = false;

async function main(): Promise<void> {
  const options = parseOptions(benchArgs(), process.env);
  const casync = which('casync');
  if (!casync) throw new Error('casync is not installed: run bin/setup (or apt-get install casync)');
  const cleanup = new CleanupStack();
  // Not cleanup.onSignals(): the command being timed (casync, chunk push) and /usr/bin/time around
  // it must be stopped before the directories they write into are removed.
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping child processes, cleaning up\n`);
    void terminateDescendants()
      .then(() => cleanup.runAll())
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const removeSignalHandlers = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  try {
    await mkdir(cacheDir, { recursive: true });
    const rootfs = join(cacheDir, `random-${options.bytes}.bin`);
    log(`rootfs ${rootfs}`);
    if ((await ensureRandomFile(rootfs, options.bytes)).created) log(`wrote ${formatBytes(options.bytes)} of random data`);
    const workDir = join(cacheDir, `pull-${process.pid}`);
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    cleanup.add(`remove ${workDir}`, () => rm(workDir, { recursive: true, force: true }));
    const metadata = join(workDir, 'metadata.tar.xz');
    await writeMetadataTarball(metadata);
    const files = { metadata, rootfs, rootfsBytes: options.bytes, imageBytes: options.bytes + (await fileSize(metadata)) };
    await warmPageCache(rootfs);

    const loadAtStart = loadavg()[0]!;
    if (loadAtStart > 0.5) log(`the 1-minute load average is ${loadAtStart.toFixed(2)}: other work on this machine will skew the numbers`);
    const rounds: Round[] = [];
    for (let round = 0; round < options.runs; round++) {
      const ours = await ourRound(round, files, workDir, cleanup);
      const peers: Record<string, Record<CasyncOpName, Timed>> = {};
      for (const avg of options.casyncAvgKiB) peers[String(avg)] = await casyncRound(round, casync, avg, rootfs, workDir, cleanup);
      rounds.push({ ours, casync: peers });
    }
    report(options, files.imageBytes, rounds, { start: loadAtStart, end: loadavg()[0]! });
  } finally {
    await cleanup.runAll();
    removeSignalHandlers();
  }
}

main().catch((err: unknown) => {
  if (interrupted) return;
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
