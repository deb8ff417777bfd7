import { MAX_FETCH_IDS } from '@lxchunk/client';
import type { S3BackendResult } from './s3-backend-bench.js';
import type { SampleSummary } from './sample-summary.js';
import { renderTable } from './text-table.js';
import { formatBytes, formatCount } from './units.js';

/** The target: batched fetch through the server at least this share of plain SDK GETs of the same objects. */
export const S3_FETCH_TARGET_RATIO = 0.7;

function cores(value: number | undefined): string {
  return value === undefined ? '?' : value.toFixed(2);
}

function micros(value: number | undefined): string {
  return value === undefined ? '?' : value.toFixed(0);
}

function rss(bytes: number | undefined): string {
  return bytes === undefined ? '?' : formatBytes(bytes);
}

/** The S3 + PostgreSQL part of `pnpm bench:server` as plain-text tables. */
export function renderS3Backend(r: S3BackendResult, options: { uploadConcurrency: number; fetchConcurrency: number; runs: number }): string {
  const out: string[] = [];
  const sdk = r.sdkGets.mbps;
  out.push(
    `S3 + PostgreSQL backend: servers with --chunks s3://… (moto_server: S3 in Python, objects in memory) and --metadata postgres://… ` +
      `(a private PostgreSQL), both on loopback; --no-fsync. Image: ${formatBytes(r.bytes)} of random data, ${formatCount(r.chunks)} chunks ` +
      `(${r.avgKiB} KiB avg), stored as is (random data does not compress). Median of ${options.runs} runs after a warm-up of a few hundred chunks, ` +
      `the three ways interleaved.\n` +
      `Same concurrency: fetchChunks sends batches of ≤${formatCount(MAX_FETCH_IDS)} ids, ${options.fetchConcurrency} at most in flight ` +
      `(${r.batches} batch(es) for this image), and the server keeps READ_AHEAD = ${r.readAhead} S3 GETs in flight per batch it answers ` +
      `(apps/server/src/routes/chunk-routes.ts): ${r.batchesInFlight} × ${r.readAhead} = ${r.batchesInFlight * r.readAhead} GETs in flight at most. ` +
      `The SDK row sends GetObjectCommands for the same keys (S3ChunkStore.keyOf) in the same batches, as many batches at once, ` +
      `${r.readAhead} in flight in each, reading each body to its end: as many GETs in flight as the server at every moment. ` +
      `Both through the SDK's default HTTP agent; moto answers every request with Connection: close, so every GET (the server's or the SDK's) ` +
      `is a new TCP connection.\n` +
      `cores = CPU seconds ÷ wall seconds over all runs (user + system, /proc); bench = this process (the clients, and the SDK GETs).\n`,
  );
  const row = (what: string, s: SampleSummary<'server' | 'moto' | 'postgres' | 'bench'>, ratio: string): string[] => [
    what,
    s.mbps.toFixed(1),
    formatCount(s.chunksPerSecond),
    ratio,
    micros(s.cpuUsPerChunk.server),
    micros(s.cpuUsPerChunk.moto),
    micros(s.cpuUsPerChunk.bench),
    cores(s.cores.moto),
    cores(s.cores.server),
    cores(s.cores.postgres),
    cores(s.cores.bench),
  ];
  out.push(
    renderTable(
      [
        { header: 'fetch of every chunk', align: 'left' },
        { header: 'MB/s', align: 'right' },
        { header: 'chunks/s', align: 'right' },
        { header: '÷ SDK GETs', align: 'right' },
        { header: 'server µs/chunk', align: 'right' },
        { header: 'moto µs/chunk', align: 'right' },
        { header: 'bench µs/chunk', align: 'right' },
        { header: 'cores: moto', align: 'right' },
        { header: 'server', align: 'right' },
        { header: 'postgres', align: 'right' },
        { header: 'bench', align: 'right' },
      ],
      [
        row('server: fetchChunks (verified, as a host)', r.fetchClient, (r.fetchClient.mbps / sdk).toFixed(2)),
        row('server: raw POST /v1/chunks/fetch', r.fetchRaw, (r.fetchRaw.mbps / sdk).toFixed(2)),
        row(`SDK GetObject, ${r.batchesInFlight} × ${r.readAhead} in flight`, r.sdkGets, '1.00'),
      ],
    ),
  );
  const met = (ratio: number) => (ratio >= S3_FETCH_TARGET_RATIO ? 'met' : 'NOT met');
  out.push(
    `\ntarget: fetch through the server ≥ ${S3_FETCH_TARGET_RATIO}× SDK GETs: fetchChunks ${(r.fetchClient.mbps / sdk).toFixed(2)}× (${met(r.fetchClient.mbps / sdk)}), ` +
      `raw ${(r.fetchRaw.mbps / sdk).toFixed(2)}× (${met(r.fetchRaw.mbps / sdk)})\n`,
  );

  out.push(
    `two replicas: the image in two halves (${Math.ceil(Math.ceil(r.chunks / 2) / MAX_FETCH_IDS)} batch(es) each), one fetchChunks client per half, both at once; ` +
      `one replica = both clients on replica a, two = one client on each; MB/s = the whole image over the wall time\n`,
  );
  const replicaRow = (what: string, s: SampleSummary<'a' | 'b' | 'moto' | 'postgres' | 'bench'>): string[] => [
    what,
    s.mbps.toFixed(1),
    (s.mbps / r.oneReplica.mbps).toFixed(2),
    cores(s.cores.moto),
    cores(s.cores.a),
    cores(s.cores.b),
    cores(s.cores.postgres),
    cores(s.cores.bench),
  ];
  out.push(
    renderTable(
      [
        { header: 'fetch', align: 'left' },
        { header: 'MB/s', align: 'right' },
        { header: '÷ one replica', align: 'right' },
        { header: 'cores: moto', align: 'right' },
        { header: 'replica a', align: 'right' },
        { header: 'replica b', align: 'right' },
        { header: 'postgres', align: 'right' },
        { header: 'bench', align: 'right' },
      ],
      [replicaRow('one replica, two clients', r.oneReplica), replicaRow('two replicas, a client each', r.twoReplicas)],
    ),
  );

  const p = r.push;
  out.push(
    `\npush: a new ${formatBytes(p.bytes)} image (${formatCount(p.chunks)} chunks) with putChunk, ${options.uploadConcurrency} in flight ` +
      `(as the filesystem rows above upload), to a fresh filesystem/SQLite server and to the S3/PostgreSQL one; seconds of the uploads, ` +
      `manifest not included; CPU in seconds over the push\n`,
  );
  const cpu = (value: number | undefined) => (value === undefined ? '-' : value.toFixed(1));
  out.push(
    renderTable(
      [
        { header: 'push to', align: 'left' },
        { header: 'seconds', align: 'right' },
        { header: 'MB/s', align: 'right' },
        { header: '÷ fs', align: 'right' },
        { header: 'CPU s: server', align: 'right' },
        { header: 'moto', align: 'right' },
        { header: 'postgres', align: 'right' },
        { header: 'bench', align: 'right' },
      ],
      [
        ['filesystem + SQLite', p.fs.seconds.toFixed(1), p.fs.mbps.toFixed(1), '1.00', cpu(p.fs.cpu.server), '-', '-', cpu(p.fs.cpu.bench)],
        ['S3 + PostgreSQL', p.s3.seconds.toFixed(1), p.s3.mbps.toFixed(1), (p.s3.mbps / p.fs.mbps).toFixed(2), cpu(p.s3.cpu.server), cpu(p.s3.cpu.moto), cpu(p.s3.cpu.postgres), cpu(p.s3.cpu.bench)],
      ],
    ),
  );
  out.push(
    `\nthe fetched image's own push to S3: ${r.fetchImageUpload.mbps.toFixed(1)} MB/s; ` +
      `moto_server resident memory: ${rss(r.motoRss.afterFetchImage)} holding the fetched image, ${rss(r.motoRss.atEnd)} with the pushed one too`,
  );
  return out.join('\n');
}
