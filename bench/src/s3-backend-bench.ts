import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ChunkServerClient, MAX_FETCH_IDS } from '@lxchunk/client';
import { S3ChunkStore } from '@lxchunk/store/s3';
import { testS3Client } from '@lxchunk/store/testing';
import { cdcParams } from './cdc-like-sizes.js';
import { createToken, startChunkServer, type ChunkServerProcess } from './chunk-server-process.js';
import type { CleanupStack } from './cleanup-stack.js';
import { cpuOfProcesses } from './cpu-of-processes.js';
import { processRssBytes } from './process-rss.js';
import { randomImage, type RandomImage } from './random-image.js';
import { batchWireBytes, rawBatchFetch } from './raw-batch-fetch.js';
import { summarizeSamples, type Sample, type SampleSummary } from './sample-summary.js';
import { sdkGetFetch } from './sdk-get-fetch.js';
import { serverReadAhead } from './server-read-ahead.js';
import { startSharedBackends, type SharedBackends } from './shared-backends.js';
import { uploadChunks } from './upload-chunks.js';
import { formatBytes, formatCount, KiB } from './units.js';

export interface S3BackendOptions {
  /** The repository root (bin/chunk, the server's source). */
  readonly root: string;
  readonly workDir: string;
  readonly avgKiB: number;
  /** Rootfs bytes of the image fetched through the servers and with plain SDK GETs. */
  readonly fetchBytes: number;
  /** Rootfs bytes of the image pushed to each backend. */
  readonly pushBytes: number;
  readonly runs: number;
  readonly uploadConcurrency: number;
  /** Batches in flight per ChunkServerClient (and raw fetch). */
  readonly fetchConcurrency: number;
  /** When set, the S3 replicas run under `node --cpu-prof`, profiles written here. */
  readonly profileDir?: string | undefined;
  readonly log: (line: string) => void;
}

type FetchProcesses = 'server' | 'moto' | 'postgres' | 'bench';
type ReplicaProcesses = 'a' | 'b' | 'moto' | 'postgres' | 'bench';

export interface PushResult {
  readonly seconds: number;
  /** Chunk bytes (rootfs and metadata) per second, MB = 10^6. */
  readonly mbps: number;
  readonly cpu: Readonly<Record<string, number | undefined>>;
}

export interface S3BackendResult {
  readonly avgKiB: number;
  readonly chunks: number;
  readonly bytes: number;
  /** Of the fetched image, pushed through one replica to S3 (putChunk, as the push below). */
  readonly fetchImageUpload: { seconds: number; mbps: number };
  /** The server's READ_AHEAD: GETs in flight per batch it answers (and per batch of SDK GETs). */
  readonly readAhead: number;
  /** Batches of ≤ MAX_FETCH_IDS ids the image takes, and how many are in flight at most (fetchChunks's and the SDK GETs'). */
  readonly batches: number;
  readonly batchesInFlight: number;
  readonly fetchClient: SampleSummary<FetchProcesses>;
  readonly fetchRaw: SampleSummary<FetchProcesses>;
  readonly sdkGets: SampleSummary<FetchProcesses>;
  readonly oneReplica: SampleSummary<ReplicaProcesses>;
  readonly twoReplicas: SampleSummary<ReplicaProcesses>;
  readonly push: { readonly bytes: number; readonly chunks: number; readonly fs: PushResult; readonly s3: PushResult };
  /** moto_server's resident memory after the fetch image was stored, and at the end (both images stored). */
  readonly motoRss: { readonly afterFetchImage: number | undefined; readonly atEnd: number | undefined };
}

const MB = 1e6;
// Warm-ups (JIT, connection pools on both sides) fetch this many chunks, not the whole image: on
// moto every chunk costs a round trip through Python.
const WARM_UP_CHUNKS = 512;

/**
 * The server on shared backends (moto_server for S3, a private PostgreSQL): the same image fetched
 * through a replica (fetchChunks, raw POST /v1/chunks/fetch) and with plain SDK GETs of its objects
 * at the same concurrency; through two replicas at once against one; then a push of a new image to
 * a fresh filesystem/SQLite server and to the S3/PostgreSQL one, the same way.
 */
export async function measureS3Backend(options: S3BackendOptions, cleanup: CleanupStack): Promise<S3BackendResult> {
  const { root, workDir, log } = options;
  const params = cdcParams(Math.round(options.avgKiB * KiB));
  log(`S3 + PostgreSQL: starting moto_server and a private PostgreSQL`);
  const backends = await startSharedBackends(cleanup);
  const readAhead = await serverReadAhead(root);
  const replica = async (name: string): Promise<ChunkServerProcess> => {
    const server = await startChunkServer({
      root,
      dataDir: join(workDir, `s3-${name}`),
      storageArgs: backends.storageArgs,
      env: backends.moto.env,
      ...(options.profileDir ? { cpuProfileDir: options.profileDir } : {}),
    });
    cleanup.add(`stop replica ${name}`, () => server.stop());
    log(`replica ${name}: ${server.url} (pid ${server.process.pid}) on ${backends.storageArgs.join(' ')}`);
    return server;
  };
  const a = await replica('a');
  const pushToken = await createToken(root, { metadata: backends.databaseUrl }, 'bench', 'push');

  log(`S3: generating and pushing a ${formatBytes(options.fetchBytes)} image through replica a`);
  const image = randomImage(options.fetchBytes, params, Math.round(options.avgKiB * 1000) + 3);
  const fetchImageUpload = await pushImage(a.url, pushToken, image, options.uploadConcurrency, true);
  const ids = image.rootfs.map((chunk) => chunk.id);
  const motoRssAfterFetchImage = backends.motoPid === undefined ? undefined : await processRssBytes(backends.motoPid);

  // Same concurrency: fetchChunks sends batches of ≤ MAX_FETCH_IDS ids, at most fetchConcurrency
  // at once, and the server keeps READ_AHEAD store reads in flight for each batch it answers. The
  // SDK GETs take the same batches, as many at once, READ_AHEAD GETs in flight in each: at every
  // moment as many GETs in flight as the server has (a flat batches × READ_AHEAD would favour the
  // SDK whenever the last batch is a short one). Both use the SDK's default HTTP agent (the
  // server's S3 client sets only timeouts).
  const batches = Math.ceil(ids.length / MAX_FETCH_IDS);
  const batchesInFlight = Math.min(options.fetchConcurrency, batches);
  const keyOf = new S3ChunkStore({ bucket: backends.bucket.bucket, prefix: backends.prefix, client: backends.bucket.client });
  const sdk = testS3Client(backends.moto.endpoint);
  cleanup.add('release the SDK GET client', () => sdk.destroy());
  const reader = new ChunkServerClient({ url: a.url, concurrency: options.fetchConcurrency });
  const closeReader = cleanup.add('close the S3 fetch client', () => reader.close());

  const lengths = new Map(image.rootfs.map((chunk) => [chunk.id, chunk.length]));
  const bytesOf = (some: readonly string[]) => some.reduce((sum, id) => sum + lengths.get(id)!, 0);
  const modes = {
    client: async (some: readonly string[]) => fetchThrough(reader, some, bytesOf(some)),
    raw: async (some: readonly string[]) => {
      const expected = batchWireBytes(some.length, bytesOf(some), MAX_FETCH_IDS);
      const result = await rawBatchFetch(a.url, some, MAX_FETCH_IDS, options.fetchConcurrency);
      if (result.wireBytes !== expected) throw new Error(`raw fetch from S3: ${result.wireBytes} bytes, expected ${expected}`);
      return result.seconds;
    },
    sdk: async (some: readonly string[]) => {
      const keys = some.map((id) => keyOf.keyOf(id));
      const keyBatches = Array.from({ length: Math.ceil(keys.length / MAX_FETCH_IDS) }, (_, i) => keys.slice(i * MAX_FETCH_IDS, (i + 1) * MAX_FETCH_IDS));
      const result = await sdkGetFetch(sdk, backends.bucket.bucket, keyBatches, options.fetchConcurrency, readAhead);
      // Random data is stored as is: the objects are the chunks, byte for byte in length.
      if (result.bytes !== bytesOf(some)) throw new Error(`SDK GETs: ${result.bytes} bytes, expected ${bytesOf(some)}`);
      return result.seconds;
    },
  };
  const fetchPids = { server: a.process.pid, moto: backends.motoPid, postgres: backends.postgresPid };
  const samples: Record<keyof typeof modes, Sample<FetchProcesses>[]> = { client: [], raw: [], sdk: [] };
  const warmUp = ids.slice(0, WARM_UP_CHUNKS);
  for (const mode of Object.values(modes)) await mode(warmUp);
  log(
    `S3 fetch of ${formatCount(ids.length)} chunks: ${options.runs} runs each of fetchChunks, raw POST /v1/chunks/fetch and SDK GETs ` +
      `(${batches} batch(es), ${batchesInFlight} at once, READ_AHEAD ${readAhead} GETs in flight each), interleaved`,
  );
  for (let run = 0; run < options.runs; run++) {
    for (const [name, mode] of Object.entries(modes) as Array<[keyof typeof modes, (some: readonly string[]) => Promise<number>]>) {
      const { result: seconds, cpu } = await cpuOfProcesses(fetchPids, () => mode(ids));
      samples[name].push({ seconds, cpu });
      log(`  run ${run + 1} ${name}: ${(image.rootfsBytes / MB / seconds).toFixed(1)} MB/s`);
    }
  }
  await closeReader();

  // Two replicas: the image in two halves, one client each (fetchConcurrency batches in flight
  // apiece), both at once: both halves through replica a, then one half through each replica.
  const b = await replica('b');
  const halves = [ids.slice(0, ids.length >> 1), ids.slice(ids.length >> 1)] as const;
  const clients = [a, a, b].map((server) => new ChunkServerClient({ url: server.url, concurrency: options.fetchConcurrency }));
  const closeClients = cleanup.add('close the replica fetch clients', async () => {
    await Promise.all(clients.map((client) => client.close()));
  });
  const [onA1, onA2, onB] = clients as [ChunkServerClient, ChunkServerClient, ChunkServerClient];
  const bothHalves = async (first: ChunkServerClient, second: ChunkServerClient): Promise<number> => {
    const started = performance.now();
    await Promise.all([fetchThrough(first, halves[0], bytesOf(halves[0])), fetchThrough(second, halves[1], bytesOf(halves[1]))]);
    return (performance.now() - started) / 1000;
  };
  await Promise.all([fetchThrough(onA1, warmUp, bytesOf(warmUp)), fetchThrough(onA2, warmUp, bytesOf(warmUp)), fetchThrough(onB, warmUp, bytesOf(warmUp))]);
  const replicaPids = { a: a.process.pid, b: b.process.pid, moto: backends.motoPid, postgres: backends.postgresPid };
  const one: Sample<ReplicaProcesses>[] = [];
  const two: Sample<ReplicaProcesses>[] = [];
  log(`replicas: ${options.runs} runs each of both halves through replica a, and one half through each replica, interleaved`);
  for (let run = 0; run < options.runs; run++) {
    const single = await cpuOfProcesses(replicaPids, () => bothHalves(onA1, onA2));
    one.push({ seconds: single.result, cpu: single.cpu });
    const pair = await cpuOfProcesses(replicaPids, () => bothHalves(onA1, onB));
    two.push({ seconds: pair.result, cpu: pair.cpu });
    log(`  run ${run + 1}: one replica ${(image.rootfsBytes / MB / single.result).toFixed(1)} MB/s, two ${(image.rootfsBytes / MB / pair.result).toFixed(1)} MB/s`);
  }
  await closeClients();

  const push = await comparePush(options, backends, a, pushToken, cleanup);
  const motoRssAtEnd = backends.motoPid === undefined ? undefined : await processRssBytes(backends.motoPid);
  return {
    avgKiB: options.avgKiB,
    chunks: ids.length,
    bytes: image.rootfsBytes,
    fetchImageUpload,
    readAhead,
    batches,
    batchesInFlight,
    fetchClient: summarizeSamples(samples.client, image.rootfsBytes, ids.length),
    fetchRaw: summarizeSamples(samples.raw, image.rootfsBytes, ids.length),
    sdkGets: summarizeSamples(samples.sdk, image.rootfsBytes, ids.length),
    oneReplica: summarizeSamples(one, image.rootfsBytes, ids.length),
    twoReplicas: summarizeSamples(two, image.rootfsBytes, ids.length),
    push,
    motoRss: { afterFetchImage: motoRssAfterFetchImage, atEnd: motoRssAtEnd },
  };
}

/** fetchChunks of `ids` (verified by the client, as a host does), checking every byte arrived: the seconds. */
async function fetchThrough(client: ChunkServerClient, ids: readonly string[], bytes: number): Promise<number> {
  let delivered = 0;
  const started = performance.now();
  const result = await client.fetchChunks(ids, (_id, chunk) => {
    delivered += chunk.length;
  });
  const seconds = (performance.now() - started) / 1000;
  if (result.missing.length > 0 || delivered !== bytes) throw new Error(`fetchChunks: ${result.missing.length} missing, ${delivered} of ${bytes} bytes delivered`);
  return seconds;
}

/** Uploads every chunk of `image` (uploadChunks, the server bench's push) and commits its manifest. */
async function pushImage(url: string, token: string, image: RandomImage, concurrency: number, dropBytes: boolean): Promise<{ seconds: number; mbps: number }> {
  const client = new ChunkServerClient({ url, token });
  try {
    const seconds = await uploadChunks(client, [image.metadata, ...image.rootfs], concurrency, { dropBytes });
    const committed = await client.putManifest(image.fingerprint, image.manifest);
    if (committed !== 'created') throw new Error(`manifest ${image.fingerprint} was ${committed}, expected created`);
    return { seconds, mbps: (image.rootfsBytes + image.metadata.length) / MB / seconds };
  } finally {
    await client.close();
  }
}

/** One new image pushed the same way to a fresh filesystem/SQLite server, then to the S3/PostgreSQL replica. */
async function comparePush(
  options: S3BackendOptions,
  backends: SharedBackends,
  s3Server: ChunkServerProcess,
  s3Token: string,
  cleanup: CleanupStack,
): Promise<S3BackendResult['push']> {
  const params = cdcParams(Math.round(options.avgKiB * KiB));
  options.log(`push: generating a ${formatBytes(options.pushBytes)} image`);
  const image = randomImage(options.pushBytes, params, Math.round(options.avgKiB * 1000) + 4);
  const dataDir = join(options.workDir, 'push-fs');
  const removeData = cleanup.add(`remove ${dataDir}`, () => rm(dataDir, { recursive: true, force: true }));
  const fsServer = await startChunkServer({ root: options.root, dataDir });
  const stopFs = cleanup.add('stop the filesystem push server', () => fsServer.stop());
  const fsToken = await createToken(options.root, dataDir, 'bench', 'push');
  options.log(`push: ${formatCount(image.rootfs.length + 1)} chunks, ${options.uploadConcurrency} in flight, to filesystem/SQLite ${fsServer.url}`);
  // The bytes are kept for the second push: randomImage cannot make the same image again.
  const fs = await cpuOfProcesses({ server: fsServer.process.pid }, () => pushImage(fsServer.url, fsToken, image, options.uploadConcurrency, false));
  await stopFs();
  await removeData();
  options.log(`push: the same chunks to S3/PostgreSQL ${s3Server.url}`);
  const s3 = await cpuOfProcesses({ server: s3Server.process.pid, moto: backends.motoPid, postgres: backends.postgresPid }, () =>
    pushImage(s3Server.url, s3Token, image, options.uploadConcurrency, true),
  );
  return {
    bytes: image.rootfsBytes + image.metadata.length,
    chunks: image.rootfs.length + 1,
    fs: { ...fs.result, cpu: fs.cpu },
    s3: { ...s3.result, cpu: s3.cpu },
  };
}
