import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InlineSha256, Sha256Worker, sameParams, type ChunkMethod, type ChunkParams, type Sha256Sink } from '@lxchunk/chunker';
import type { ChunkServerClient } from '@lxchunk/client';
import { ChunkNotFoundError, HashMismatchError, InvalidInputError, crashPoint } from '@lxchunk/errors';
import type { ChunkIndex, ImageManifest } from '@lxchunk/format';
import { PRIVATE_DIR, ReadThroughCache, syncDir, type ChunkSource, type ChunkStore } from '@lxchunk/store';
import { XZ_ENCODER, XzPool, selfTest } from '@lxchunk/xz';
import { chunkSeedFile } from './chunk-image-file.js';
import { ContentRebuild, type RebuildPreference, type RebuildRates } from './content-rebuild.js';
import { seedContentStream } from './seed-content.js';
import { fetchManifest, type FetchedManifest } from './fetch-manifest.js';
import type { ManifestCache } from './manifest-cache.js';
import { LocalChunks } from './local-chunks.js';
import { PartialFile } from './partial-file.js';
import { ReplacedChunks, type ChunkRef } from './replaced-chunks.js';
import { resolveImageRef } from './resolve-image-ref.js';
import type { ProgressListener } from './progress-event.js';
import type { TransferCounts } from './transfer-counts.js';

/** A local file that may share chunks with the image. With its index (e.g. from the server, for an image LXD already holds) it needs no chunking. */
export interface Seed {
  readonly path: string;
  readonly index?: ChunkIndex;
}

export interface PullOptions {
  readonly client: ChunkServerClient;
  /** An alias or a fingerprint. */
  readonly ref: string;
  readonly outDir: string;
  readonly seeds?: readonly Seed[];
  /** Keeps fetched chunks for later pulls, and is searched first. */
  readonly cache?: ChunkStore;
  /** Manifests pulled before: offered to the server as the base to compress the new one against. */
  readonly manifests?: ManifestCache;
  /** The cached manifest to offer first (e.g. the image the alias pointed at); default: the newest. */
  readonly preferredBase?: string;
  /** The manifest, when the caller already fetched it (its fingerprint must be the ref). */
  readonly manifest?: FetchedManifest;
  /** Whether to fetch content and rebuild xz blocks (see RebuildPreference); default 'auto'. */
  readonly prefer?: RebuildPreference;
  /** The link rate `auto` weighs against re-encoding; default: measured on the manifest download. */
  readonly linkBytesPerSecond?: number;
  /**
   * Offer the server the seed chunks each missing chunk replaced, so it may send deltas against
   * them; default true.
   */
  readonly deltas?: boolean;
  /** Threads that re-encode xz blocks; default every core. */
  readonly xzThreads?: number;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
  /** Told why rebuilding is off when it cannot be trusted here (the encoder self-test failed). */
  readonly onWarning?: (message: string) => void;
}

export interface PulledFile {
  readonly role: string;
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface PullResult extends TransferCounts {
  readonly fingerprint: string;
  readonly type: ImageManifest['type'];
  readonly manifest: ImageManifest;
  readonly files: readonly PulledFile[];
  /** Of bytesFetched: the alias lookup and the manifest with its indexes. */
  readonly manifestBytes: number;
  /** Seed or cache ranges that did not match their id and were fetched instead. */
  readonly corruptLocalChunks: number;
  /** The cached manifest the server compressed this one against, if any. */
  readonly manifestBase?: string;
  /** xz blocks rebuilt from their content instead of fetched, and what re-encoding them cost. */
  readonly blocksRebuilt: number;
  readonly rebuildCpuSeconds: number;
  /** Output bytes produced by rebuilding blocks (neither fetched nor reused). */
  readonly bytesRebuilt: number;
  /** Content chunks fetched for rebuilding. */
  readonly contentChunksFetched: number;
  /**
   * Chunks planned for rebuilding that did not come out matching their ids (an encoder that
   * refused the recipe or differs, damaged content) and were fetched compressed after all.
   */
  readonly rebuildFallbacks: number;
  /** Chunks (content or compressed) received as deltas against local chunks they replaced. */
  readonly chunksAsDeltas: number;
}

/**
 * Output names follow LXD's own images directory and `lxc image export`: `<fp>` (metadata, or a
 * unified image's one tarball) and `<fp>.rootfs`.
 */
export function pulledFileName(fingerprint: string, role: string): string {
  return role === 'metadata' || role === 'unified' ? fingerprint : `${fingerprint}.rootfs`;
}

const WORKER_THRESHOLD = 32 * 1024 * 1024;
const WRITES_IN_FLIGHT = 64;

/**
 * Pulls an image: each output file is assembled in place under a temporary name, fetched chunks
 * written at their offsets as they arrive (through the cache, if any, which keeps them); then one
 * sequential pass fills every other position from local sources and hashes the file as it is on
 * disk, for its sha256 and the LXD fingerprint. Only verified files are renamed into place. An interrupted
 * pull leaves its temporary files; run again, it keeps their verified ranges and fetches only the
 * rest. Nothing half-written ever carries a final name.
 */
export async function pullImage(options: PullOptions): Promise<PullResult> {
  const { client, signal } = options;
  const receivedBefore = client.bytesReceived;
  const deltasBefore = client.chunksAsDeltas;
  const fingerprint = await resolveImageRef(client, options.ref, signal);
  if (options.manifest && options.manifest.manifest.fingerprint !== fingerprint) {
    throw new InvalidInputError(`the manifest given is of ${options.manifest.manifest.fingerprint}, not ${fingerprint}`);
  }
  const manifestStarted = performance.now();
  const gotManifest =
    options.manifest ??
    (await fetchManifest(client, fingerprint, {
      ...(options.manifests ? { manifests: options.manifests } : {}),
      ...(options.preferredBase ? { preferredBase: options.preferredBase } : {}),
      ...(signal ? { signal } : {}),
    }));
  const { manifest } = gotManifest;
  const manifestSeconds = (performance.now() - manifestStarted) / 1000;
  const manifestBytes = client.bytesReceived - receivedBefore;
  const staging = join(options.outDir, `.lxchunk-pull-${fingerprint}`);
  await mkdir(staging, PRIVATE_DIR);

  const local = new LocalChunks();
  if (options.cache) local.addStore(options.cache);
  // The network, read through the cache: every chunk fetched is verified into it for later pulls.
  const remote: ChunkSource = options.cache ? new ReadThroughCache(client, options.cache) : client;
  const outputs: PartialFile[] = [];
  let rebuilds: Array<{ rebuild: ContentRebuild }> = [];
  try {
    for (const file of manifest.files) {
      const output = await PartialFile.open(join(staging, `${file.role}.partial`), file.index, signal);
      outputs.push(output);
      local.addRanges(output.path, output.doneRanges());
    }
    /** What the seeds hold, in file order: where a missing chunk's predecessor is looked for. */
    const seedChunks: Array<readonly ChunkRef[]> = [];
    for (const seed of options.seeds ?? []) seedChunks.push(...(await addSeed(local, seed, manifest, signal)));

    // Where each chunk still has to be written.
    const todo = new Map<string, Array<{ output: PartialFile; position: number }>>();
    const distinct = new Set<string>();
    for (const output of outputs) {
      output.placements.forEach(({ id }, position) => {
        distinct.add(id);
        if (output.isDone(position)) return;
        const places = todo.get(id);
        if (places) places.push({ output, position });
        else todo.set(id, [{ output, position }]);
      });
    }
    const missing = new Set<string>();
    for (const id of todo.keys()) if (!(await local.mayHave(id))) missing.add(id);

    // The content domain: missing chunks inside xz blocks that rebuild exactly may come from
    // their content instead (fetched or local), re-encoded here and verified by their ids.
    // Deltas: each missing chunk names the seed chunks it most likely replaced (content chunks
    // are named while their blocks are planned, since deltas make content cheaper to fetch).
    const replaced = new ReplacedChunks(seedChunks);
    rebuilds = await planRebuilds(manifest, outputs, missing, local, staging, options, { manifestBytes, manifestSeconds }, options.deltas === false ? undefined : replaced);
    for (const { rebuild } of rebuilds) {
      for (const id of rebuild.covered) missing.delete(id);
      for (const position of rebuild.pendingPositions()) {
        const { id } = rebuild.contentFile.placements[position]!;
        const places = todo.get(id);
        if (places) places.push({ output: rebuild.contentFile, position });
        else todo.set(id, [{ output: rebuild.contentFile, position }]);
        if (!(await local.mayHave(id))) missing.add(id);
      }
    }
    const toFetch: string[] = [];
    let fetchTotal = 0;
    for (const id of missing) {
      const first = todo.get(id)![0]!;
      toFetch.push(id);
      fetchTotal += first.output.placements[first.position]!.length;
    }

    if (options.deltas !== false) for (const output of outputs) replaced.plan(output.placements, (id) => missing.has(id));
    const fetchOptions = {
      ...(signal ? { signal } : {}),
      ...(replaced.size > 0 ? { deltaBases: { basesFor: (id: string) => replaced.basesFor(id), read: (id: string) => local.read(id) } } : {}),
    };

    let fetchedBytes = 0;
    const place = async (id: string, bytes: Uint8Array) => {
      for (const { output, position } of todo.get(id) ?? []) await output.write(position, bytes);
      crashPoint('pull.fetch');
    };
    // Writes are not awaited one by one: the next frames are read and verified while earlier
    // bytes go to disk. A few in flight bound the memory held.
    const writing = new Set<Promise<void>>();
    let writeFailure: unknown;
    const { missing: notFound } = await remote.fetchChunks(
      toFetch,
      async (id, bytes) => {
        if (writeFailure) throw writeFailure;
        const write = place(id, bytes).catch((err: unknown) => {
          writeFailure ??= err;
        });
        writing.add(write);
        void write.finally(() => writing.delete(write));
        while (writing.size >= WRITES_IN_FLIGHT) await Promise.race(writing);
        fetchedBytes += bytes.length;
        options.onProgress?.({ phase: 'fetch', done: fetchedBytes, total: fetchTotal });
      },
      fetchOptions,
    ).finally(() => Promise.all(writing));
    if (writeFailure) throw writeFailure;
    if (notFound.length > 0) throw new ChunkNotFoundError(notFound[0]!);
    const fetched = new Set(toFetch);

    // Rebuild: content positions not fetched come from local sources first; then blocks are
    // re-encoded and their chunks written like fetched ones. A chunk that does not come out
    // right is fetched compressed after all.
    let blocksRebuilt = 0;
    let rebuildCpuSeconds = 0;
    let bytesRebuilt = 0;
    let rebuildFallbacks = 0;
    const rebuilt = new Set<string>();
    if (rebuilds.length > 0) {
      const pool = new XzPool(options.xzThreads !== undefined ? { threads: options.xzThreads } : {});
      try {
        const fallback: string[] = [];
        for (const { rebuild } of rebuilds) {
          for (const position of rebuild.pendingPositions()) {
            const { id } = rebuild.contentFile.placements[position]!;
            const bytes = (await local.read(id)) ?? (await remote.getChunk(id, { signal }));
            await rebuild.contentFile.write(position, bytes);
          }
          let done = 0;
          const total = rebuild.contentBytes;
          const failed = await rebuild.rebuild(
            pool,
            async (id, bytes) => {
              for (const { output, position } of todo.get(id) ?? []) if (!output.isDone(position)) await output.write(position, bytes);
              // Made here, not fetched: kept in the cache by hand, as the remote's chunks are by ReadThroughCache.
              await options.cache?.put(id, bytes);
              rebuilt.add(id);
            },
            (contentBytes) => {
              done += contentBytes;
              options.onProgress?.({ phase: 'rebuild', done, total });
            },
            signal,
          );
          fallback.push(...failed);
          blocksRebuilt += rebuild.blocks;
        }
        rebuildCpuSeconds = pool.workSeconds;
        rebuildFallbacks = fallback.length;
        if (fallback.length > 0) {
          const again = await remote.fetchChunks(fallback, async (id, bytes) => place(id, bytes), fetchOptions);
          if (again.missing.length > 0) throw new ChunkNotFoundError(again.missing[0]!);
          for (const id of fallback) fetched.add(id);
        }
      } finally {
        await pool.close();
      }
      for (const output of outputs) for (const { id, length } of output.placements) if (rebuilt.has(id) && !fetched.has(id)) bytesRebuilt += length;
    }

    // Then one pass per file in order: every other position from local sources, and the sha256s
    // (the file's and LXD's fingerprint over all files) over the bytes as they are on disk.
    const bytesTotal = manifest.files.reduce((sum, file) => sum + file.index.size, 0);
    const recovered = new Map<string, Uint8Array>();
    const source = async (output: PartialFile, position: number): Promise<Uint8Array> => {
      const { id } = output.placements[position]!;
      const bytes = recovered.get(id) ?? (await local.read(id));
      if (bytes) return bytes;
      // Every local copy failed verification: fetch this one after all.
      const got = await remote.getChunk(id, { signal });
      fetched.add(id);
      recovered.set(id, got);
      return got;
    };
    const sha256: Sha256Sink = bytesTotal >= WORKER_THRESHOLD ? new Sha256Worker() : new InlineSha256();
    const files: PulledFile[] = [];
    try {
      const fingerprintHash = sha256.create();
      let assembled = 0;
      for (const [i, output] of outputs.entries()) {
        const { role, index } = manifest.files[i]!;
        const fileHash = sha256.create();
        await output.fill(
          (position) => source(output, position),
          sha256,
          [fileHash, fingerprintHash],
          (bytes) => {
            assembled += bytes;
            options.onProgress?.({ phase: 'assemble', done: assembled, total: bytesTotal });
          },
          signal,
        );
        const actual = await sha256.digest(fileHash);
        if (actual !== index.sha256) throw new HashMismatchError(`assembled ${role}`, index.sha256, actual);
        files.push({ role, path: join(options.outDir, pulledFileName(fingerprint, role)), size: index.size, sha256: actual });
      }
      const actualFingerprint = await sha256.digest(fingerprintHash);
      if (actualFingerprint !== fingerprint) throw new HashMismatchError('image fingerprint', fingerprint, actualFingerprint);
    } finally {
      await sha256.close();
    }
    let bytesReused = 0;
    for (const output of outputs) for (const { id, length } of output.placements) if (!fetched.has(id) && !rebuilt.has(id)) bytesReused += length;
    let contentChunksFetched = 0;
    for (const { rebuild } of rebuilds) for (const { id } of rebuild.contentFile.placements) if (fetched.has(id)) contentChunksFetched++;
    for (const { rebuild } of rebuilds.splice(0)) await rebuild.close();

    // Everything verified: only now do the files take their final names.
    for (const output of outputs) await output.sync();
    for (const output of outputs.splice(0)) await output.close();
    crashPoint('pull.verified');
    for (const [i, file] of files.entries()) {
      await rename(join(staging, `${manifest.files[i]!.role}.partial`), file.path);
      crashPoint('pull.rename');
    }
    await syncDir(options.outDir, { bestEffort: true });
    await local.close();
    await rm(staging, { recursive: true, force: true });
    return {
      fingerprint,
      type: manifest.type,
      manifest,
      files,
      bytesTotal,
      bytesFetched: client.bytesReceived - receivedBefore,
      manifestBytes,
      bytesReused,
      chunksTotal: distinct.size,
      chunksFetched: [...distinct].filter((id) => fetched.has(id)).length,
      chunksReused: [...distinct].filter((id) => !fetched.has(id) && !rebuilt.has(id)).length,
      corruptLocalChunks: local.corruptRanges,
      ...(gotManifest.base ? { manifestBase: gotManifest.base } : {}),
      blocksRebuilt,
      rebuildCpuSeconds,
      bytesRebuilt,
      contentChunksFetched,
      rebuildFallbacks,
      chunksAsDeltas: client.chunksAsDeltas - deltasBefore,
    };
  } catch (err) {
    // The temporary files hold only verified chunks (and holes): keep them for a retry.
    await local.close();
    await Promise.all(rebuilds.map(({ rebuild }) => rebuild.close().catch(() => undefined)));
    await Promise.all(outputs.map((output) => output.close().catch(() => undefined)));
    throw err;
  }
}

/** When no rate was measured: 100 Mbit/s, a common datacenter host link. */
const DEFAULT_LINK_BYTES_PER_SECOND = 12.5e6;
/** A manifest download shorter than this says little about the link. */
const MIN_MEASURED_BYTES = 256 * 1024;

/**
 * The content-domain rebuilds of a pull, one per file that has a content index for this encoder:
 * checks the encoder first (a failed self-test turns rebuilding off, with a warning), offers the
 * seeds' content streams as local chunks, then lets each file choose its blocks.
 */
async function planRebuilds(
  manifest: ImageManifest,
  outputs: readonly PartialFile[],
  missing: ReadonlySet<string>,
  local: LocalChunks,
  staging: string,
  options: PullOptions,
  measured: { manifestBytes: number; manifestSeconds: number },
  replaced: ReplacedChunks | undefined,
): Promise<Array<{ rebuild: ContentRebuild }>> {
  const prefer = options.prefer ?? 'auto';
  const files = manifest.files.flatMap((file, i) => (file.content?.encoder === XZ_ENCODER.id && file.content.blocks.length > 0 ? [{ file, content: file.content, output: outputs[i]! }] : []));
  if (prefer === 'time' || missing.size === 0 || files.length === 0) return [];
  const check = selfTest();
  if (!check.ok) {
    options.onWarning?.(`xz blocks are fetched compressed, not rebuilt: ${check.reason}`);
    return [];
  }
  const rates: RebuildRates = {
    linkBytesPerSecond:
      options.linkBytesPerSecond ?? (measured.manifestBytes >= MIN_MEASURED_BYTES ? measured.manifestBytes / Math.max(measured.manifestSeconds, 1e-3) : DEFAULT_LINK_BYTES_PER_SECOND),
    encodeBytesPerSecond: check.encodeBytesPerSecond,
    threads: options.xzThreads ?? availableParallelism(),
  };
  // auto: if no block could win even with all its content local, rebuilding cannot pay; skip the
  // seeds' decompression too (seconds for a large image), so auto costs what time costs.
  const couldWin = ({ length, contentLength }: { length: number; contentLength: number }) =>
    contentLength / (rates.encodeBytesPerSecond * rates.threads) < length / rates.linkBytesPerSecond;
  if (prefer === 'auto' && !files.some(({ content }) => content.blocks.some(couldWin))) return [];
  for (const [i, seed] of (options.seeds ?? []).entries()) {
    const params = files[0]!.content.index.params;
    const stream = await seedContentStream(seed.path, join(staging, `seed-${i}.content`), params, options.signal);
    if (stream) {
      local.addFile(join(staging, `seed-${i}.content`), stream.chunks);
      replaced?.addOld(stream.chunks);
    }
  }
  const rebuilds: Array<{ rebuild: ContentRebuild }> = [];
  for (const { file, content, output } of files) {
    const rebuild = await ContentRebuild.plan({
      output,
      content,
      missing,
      local,
      contentPath: join(staging, `${file.role}.content.partial`),
      prefer,
      rates,
      ...(replaced ? { replaced } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (rebuild) rebuilds.push({ rebuild });
  }
  return rebuilds;
}

/**
 * A seed is chunked each way (params and method) the image's files were, unless its index is
 * already known. Returns its chunk lists, one per way.
 */
async function addSeed(local: LocalChunks, seed: Seed, manifest: ImageManifest, signal: AbortSignal | undefined): Promise<Array<readonly ChunkRef[]>> {
  await stat(seed.path); // a missing seed is the caller's mistake: say so rather than ignore it
  if (seed.index) {
    local.addFile(seed.path, seed.index.chunks);
    return [seed.index.chunks];
  }
  const lists: Array<readonly ChunkRef[]> = [];
  const ways: Array<{ params: ChunkParams; method: ChunkMethod }> = [];
  for (const { index } of manifest.files) {
    if (!ways.some((way) => way.method === index.method && sameParams(way.params, index.params))) ways.push({ params: index.params, method: index.method });
  }
  for (const way of ways) {
    const chunked = await chunkSeedFile(seed.path, { ...way, signal });
    if (chunked) {
      local.addFile(seed.path, chunked.chunks);
      lists.push(chunked.chunks);
    }
  }
  return lists;
}

