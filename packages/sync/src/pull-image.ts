import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InlineSha256, Sha256Worker, isChunkId, sameParams, type ChunkMethod, type ChunkParams, type Sha256Sink } from '@lxchunk/chunker';
import type { ChunkServerClient } from '@lxchunk/client';
import { AliasNotFoundError, ChunkNotFoundError, HashMismatchError, InvalidInputError } from '@lxchunk/errors';
import type { ChunkIndex, ImageManifest } from '@lxchunk/format';
import { FsChunkStore, type ChunkStore } from '@lxchunk/store';
import { chunkSeedFile } from './chunk-image-file.js';
import { fetchManifest, type FetchedManifest } from './fetch-manifest.js';
import type { ManifestCache } from './manifest-cache.js';
import { LocalChunks } from './local-chunks.js';
import type { ProgressListener } from './progress-event.js';

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
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface PulledFile {
  readonly role: string;
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

export interface PullResult {
  readonly fingerprint: string;
  readonly type: ImageManifest['type'];
  readonly manifest: ImageManifest;
  readonly files: readonly PulledFile[];
  readonly bytesTotal: number;
  /** Every response body byte: alias lookup, manifest (indexes included), chunk batches. */
  readonly bytesFetched: number;
  /** Output bytes that came from local sources (cache, seeds, an interrupted earlier pull). */
  readonly bytesReused: number;
  /** Distinct chunks of the image, and how many of them came over the network or from local sources. */
  readonly chunksTotal: number;
  readonly chunksFetched: number;
  readonly chunksReused: number;
  /** Seed or cache ranges that did not match their id and were fetched instead. */
  readonly corruptLocalChunks: number;
  /** The cached manifest the server compressed this one against, if any. */
  readonly manifestBase?: string;
}

/** Output names follow LXD's own images directory: `<fp>` (metadata) and `<fp>.rootfs`. */
export function pulledFileName(fingerprint: string, role: string): string {
  return role === 'metadata' ? fingerprint : `${fingerprint}.rootfs`;
}

const WRITE_BUFFER = 8 * 1024 * 1024;
const WORKER_THRESHOLD = 32 * 1024 * 1024;

/**
 * Pulls an image: fetches only the chunks no local source has (into a staging store, or the
 * cache), then writes each file sequentially from verified chunks while hashing it, checks every
 * file's sha256 and the LXD fingerprint, and only then renames the files into place. An
 * interrupted pull leaves its verified chunks in the staging store; run again, it fetches only
 * the rest. Nothing half-written ever carries a final name.
 */
export async function pullImage(options: PullOptions): Promise<PullResult> {
  const { client, signal } = options;
  const receivedBefore = client.bytesReceived;
  const fingerprint = isChunkId(options.ref) ? options.ref : await resolveAlias(client, options.ref, signal);
  if (options.manifest && options.manifest.manifest.fingerprint !== fingerprint) {
    throw new InvalidInputError(`the manifest given is of ${options.manifest.manifest.fingerprint}, not ${fingerprint}`);
  }
  const gotManifest =
    options.manifest ??
    (await fetchManifest(client, fingerprint, {
      ...(options.manifests ? { manifests: options.manifests } : {}),
      ...(options.preferredBase ? { preferredBase: options.preferredBase } : {}),
      ...(signal ? { signal } : {}),
    }));
  const { manifest } = gotManifest;
  await mkdir(options.outDir, { recursive: true });

  const staging = join(options.outDir, `.lxchunk-pull-${fingerprint}`);
  const stagingStore = options.cache ? undefined : await FsChunkStore.open({ dir: staging, fsync: false });
  const fetchedInto: ChunkStore = options.cache ?? stagingStore!;
  const local = new LocalChunks();
  local.addStore(fetchedInto);
  const partials: string[] = [];
  try {
    for (const seed of options.seeds ?? []) await addSeed(local, seed, manifest, signal);

    const lengths = new Map<string, number>();
    for (const file of manifest.files) for (const chunk of file.index.chunks) lengths.set(chunk.id, chunk.length);
    const toFetch: string[] = [];
    for (const id of lengths.keys()) if (!(await local.mayHave(id))) toFetch.push(id);

    const fetchTotal = toFetch.reduce((sum, id) => sum + lengths.get(id)!, 0);
    let fetchedBytes = 0;
    const { missing } = await client.fetchChunks(
      toFetch,
      async (id, bytes) => {
        await fetchedInto.put(id, bytes);
        fetchedBytes += bytes.length;
        options.onProgress?.({ phase: 'fetch', done: fetchedBytes, total: fetchTotal });
      },
      { signal },
    );
    if (missing.length > 0) throw new ChunkNotFoundError(missing[0]!);
    const fetched = new Set(toFetch);

    const bytesTotal = manifest.files.reduce((sum, file) => sum + file.index.size, 0);
    const sha256: Sha256Sink = bytesTotal >= WORKER_THRESHOLD ? new Sha256Worker() : new InlineSha256();
    let bytesReused = 0;
    const files: PulledFile[] = [];
    try {
      const fingerprintHash = sha256.create();
      let assembled = 0;
      for (const file of manifest.files) {
        const partial = join(staging, `${file.role}.partial`);
        partials.push(partial);
        await mkdir(dirname(partial), { recursive: true });
        const fileHash = sha256.create();
        const output = await open(partial, 'w');
        try {
          let buffer = Buffer.allocUnsafeSlow(WRITE_BUFFER);
          let used = 0;
          const flush = async () => {
            if (used === 0) return;
            const full = buffer.subarray(0, used);
            await output.write(full, 0, used);
            // The buffer goes to the hashing thread; start a fresh one.
            await sha256.update([fileHash, fingerprintHash], full);
            buffer = Buffer.allocUnsafeSlow(WRITE_BUFFER);
            used = 0;
          };
          for (const chunk of file.index.chunks) {
            signal?.throwIfAborted();
            let bytes = await local.read(chunk.id);
            if (!bytes) {
              // Every local copy failed verification: fetch this one after all.
              bytes = await client.getChunk(chunk.id, { signal });
              await fetchedInto.put(chunk.id, bytes);
              fetched.add(chunk.id);
            }
            if (!fetched.has(chunk.id)) bytesReused += bytes.length;
            if (used + bytes.length > buffer.length) await flush();
            buffer.set(bytes, used);
            used += bytes.length;
            assembled += bytes.length;
            options.onProgress?.({ phase: 'assemble', done: assembled, total: bytesTotal });
          }
          await flush();
          await output.sync();
        } finally {
          await output.close();
        }
        const actual = await sha256.digest(fileHash);
        if (actual !== file.index.sha256) throw new HashMismatchError(`assembled ${file.role}`, file.index.sha256, actual);
        files.push({ role: file.role, path: join(options.outDir, pulledFileName(fingerprint, file.role)), size: file.index.size, sha256: actual });
      }
      const actualFingerprint = await sha256.digest(fingerprintHash);
      if (actualFingerprint !== fingerprint) throw new HashMismatchError('image fingerprint', fingerprint, actualFingerprint);
    } finally {
      await sha256.close();
    }

    // Everything verified: only now do the files take their final names.
    for (let i = 0; i < files.length; i++) await rename(partials[i]!, files[i]!.path);
    await syncDirectory(options.outDir);
    await local.close();
    await rm(staging, { recursive: true, force: true });
    return {
      fingerprint,
      type: manifest.type,
      manifest,
      files,
      bytesTotal,
      bytesFetched: client.bytesReceived - receivedBefore,
      bytesReused,
      chunksTotal: lengths.size,
      chunksFetched: fetched.size,
      chunksReused: lengths.size - fetched.size,
      corruptLocalChunks: local.corruptRanges,
      ...(gotManifest.base ? { manifestBase: gotManifest.base } : {}),
    };
  } catch (err) {
    // Keep the staging store's verified chunks for a retry; never keep a half-written file.
    await local.close();
    await Promise.all(partials.map((path) => rm(path, { force: true })));
    throw err;
  }
}

async function resolveAlias(client: ChunkServerClient, name: string, signal: AbortSignal | undefined): Promise<string> {
  const alias = await client.getAlias(name, { signal });
  if (!alias) throw new AliasNotFoundError(name);
  return alias.target;
}

/** A seed is chunked each way (params and method) the image's files were, unless its index is already known. */
async function addSeed(local: LocalChunks, seed: Seed, manifest: ImageManifest, signal: AbortSignal | undefined): Promise<void> {
  await stat(seed.path); // a missing seed is the caller's mistake: say so rather than ignore it
  if (seed.index) {
    local.addFile(seed.path, seed.index.chunks);
    return;
  }
  const ways: Array<{ params: ChunkParams; method: ChunkMethod }> = [];
  for (const { index } of manifest.files) {
    if (!ways.some((way) => way.method === index.method && sameParams(way.params, index.params))) ways.push({ params: index.params, method: index.method });
  }
  for (const way of ways) {
    const chunked = await chunkSeedFile(seed.path, { ...way, signal });
    if (chunked) local.addFile(seed.path, chunked.chunks);
  }
}

/** Makes the renames durable. Some filesystems cannot fsync a directory; the renames stand anyway. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  await handle.sync().catch(() => undefined);
  await handle.close();
}
