import { stat } from 'node:fs/promises';
import { defaultParamsFor, type ChunkMethod, type ChunkParams } from '@lxchunk/chunker';
import {
  ChunkEncoder,
  deltaPays,
  encodeDeltaPayload,
  MANIFEST_ZSTD_LEVEL,
  PROTOCOL_LIMITS,
  batchStreamBytes,
  compressZstdFrame,
  encodeManifest,
  type ChunkIndex,
} from '@lxchunk/format';
import { chooseChunkMethod } from './choose-chunk-method.js';
import { chunkImageFile, chunkSeedFile } from './chunk-image-file.js';
import { LocalChunks } from './local-chunks.js';
import type { ProgressListener } from './progress-event.js';
import { ReplacedChunks, type ChunkRef } from './replaced-chunks.js';
import type { TransferCounts } from './transfer-counts.js';

export interface EstimateOptions {
  /** The file a host would pull (typically a new rootfs). */
  readonly target: string;
  /** Files the host already has. */
  readonly seeds: readonly string[];
  readonly params?: ChunkParams;
  /** How to cut the target and seeds; default 'squashfs' when the target is one, as push does. */
  readonly method?: ChunkMethod;
  /** Count missing chunks as the deltas a server would send against the seed chunks they replaced; default true. */
  readonly deltas?: boolean;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

/** bytesFetched counts the manifest (with the index, as sent: zstd), the batch framing, and the missing chunks as the server would send them. */
export interface EstimateResult extends TransferCounts {
  readonly indexBytes: number;
  /** Missing chunks counted as deltas against the seed chunks they replaced. */
  readonly chunksAsDeltas: number;
  readonly params: ChunkParams;
  readonly method: ChunkMethod;
}

/**
 * Offline: what pulling `target` would cost a host holding `seeds`, in the units of pull's
 * bytesFetched. Missing chunks are counted as the server would send them (zstd when that saves
 * at least 3%, the store's rule), plus the manifest carrying the index and the batch framing.
 * The manifest is counted as a host that pulled the first seed with lxchunk receives it: zstd
 * against that seed's manifest (modelled from its index; metadata and properties differ slightly).
 */
export async function estimateTransfer(options: EstimateOptions): Promise<EstimateResult> {
  const method = options.method ?? (await chooseChunkMethod(options.target));
  const params = options.params ?? defaultParamsFor(method);
  const have = new Set<string>();
  let baseManifest: Uint8Array | undefined;
  const seedLists: Array<{ path: string; chunks: readonly ChunkRef[] }> = [];
  for (const seed of options.seeds) {
    const chunked = await chunkSeedFile(seed, { params, method, signal: options.signal });
    for (const chunk of chunked?.chunks ?? []) have.add(chunk.id);
    if (chunked) seedLists.push({ path: seed, chunks: chunked.chunks });
    if (chunked && !baseManifest) baseManifest = manifestFor(chunked);
  }
  const encoder = new ChunkEncoder();
  const counted = new Set<string>();
  /** What each missing chunk costs as the server stores it. */
  const plainCost = new Map<string, number>();
  let payloadBytes = 0;
  let fetchedChunks = 0;
  let reusedBytes = 0;
  const targetSize = (await stat(options.target)).size;
  const target = await chunkImageFile(options.target, {
    method,
    params,
    signal: options.signal,
    onProgress: (done) => options.onProgress?.({ phase: 'scan', done, total: targetSize }),
    onChunk: ({ id, bytes }) => {
      if (have.has(id)) {
        reusedBytes += bytes.length;
        return;
      }
      if (counted.has(id)) {
        reusedBytes += bytes.length; // repeated inside the image: fetched once
        return;
      }
      counted.add(id);
      fetchedChunks++;
      // Sent as stored: the server's store keeps the zstd form by this same encoder's rule.
      const cost = encoder.encode(bytes).stored.length;
      plainCost.set(id, cost);
      payloadBytes += cost;
    },
  });
  let chunksAsDeltas = 0;
  if (options.deltas !== false) {
    const deltas = await deltaSavings({ path: options.target, chunks: target.chunks }, seedLists, plainCost, options.signal);
    chunksAsDeltas = deltas.chunks;
    payloadBytes -= deltas.savedBytes;
  }
  // Pull asks for at most maxFetchIds per request; each answer is one batch stream (its magic and
  // trailer once per request, a frame header per chunk).
  const batches = Math.ceil(fetchedChunks / PROTOCOL_LIMITS.maxFetchIds);
  const wireChunkBytes = batches === 0 ? 0 : batchStreamBytes(fetchedChunks, payloadBytes) + (batches - 1) * batchStreamBytes(0, 0);
  const indexBytes = compressZstdFrame(manifestFor(target), { level: MANIFEST_ZSTD_LEVEL, ...(baseManifest ? { dictionary: baseManifest } : {}) }).length;
  const distinct = new Set(target.chunks.map((chunk) => chunk.id)).size;
  return {
    bytesTotal: target.size,
    bytesFetched: indexBytes + wireChunkBytes,
    bytesReused: reusedBytes,
    chunksTotal: distinct,
    chunksFetched: fetchedChunks,
    chunksReused: distinct - fetchedChunks,
    indexBytes,
    chunksAsDeltas,
    params,
    method,
  };
}

/**
 * The missing chunks (`plainCost`: id → bytes as the server stores it) that would come as deltas,
 * named as a pull names them and answered as the server answers (deltaPays), and the bytes that
 * saves.
 */
async function deltaSavings(
  target: { path: string; chunks: readonly ChunkRef[] },
  seeds: ReadonlyArray<{ path: string; chunks: readonly ChunkRef[] }>,
  plainCost: ReadonlyMap<string, number>,
  signal: AbortSignal | undefined,
): Promise<{ chunks: number; savedBytes: number }> {
  const replaced = new ReplacedChunks(seeds.map((seed) => seed.chunks));
  replaced.plan(target.chunks, (id) => plainCost.has(id));
  if (replaced.size === 0) return { chunks: 0, savedBytes: 0 };
  const local = new LocalChunks();
  local.addFile(target.path, target.chunks);
  for (const seed of seeds) local.addFile(seed.path, seed.chunks);
  let chunks = 0;
  let savedBytes = 0;
  try {
    for (const [id, plain] of plainCost) {
      const baseIds = replaced.basesFor(id);
      if (!baseIds) continue;
      signal?.throwIfAborted();
      const bases: Array<{ id: string; bytes: Uint8Array }> = [];
      for (const base of baseIds) {
        const bytes = await local.read(base);
        if (bytes) bases.push({ id: base, bytes });
      }
      const bytes = await local.read(id);
      if (!bytes || bases.length === 0) continue;
      const delta = encodeDeltaPayload(bytes, bases).length;
      if (!deltaPays(delta, plain)) continue;
      savedBytes += plain - delta;
      chunks++;
    }
  } finally {
    await local.close();
  }
  return { chunks, savedBytes };
}

/** The manifest a pull downloads first, with the file as its rootfs and an empty metadata file. */
function manifestFor({ size, sha256, params, method, chunks }: ChunkIndex): Uint8Array {
  const index = { size, sha256, params, method, chunks };
  const emptySha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
  return encodeManifest({
    fingerprint: index.sha256,
    type: 'container',
    architecture: 'x86_64',
    created: '2026-01-01T00:00:00Z',
    public: false,
    properties: {},
    files: [
      { role: 'metadata', index: { size: 0, sha256: emptySha, params, method: 'cdc', chunks: [] } },
      { role: 'rootfs', index },
    ],
  });
}
