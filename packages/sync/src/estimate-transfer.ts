import { stat } from 'node:fs/promises';
import { defaultParamsFor, type ChunkMethod, type ChunkParams } from '@lxchunk/chunker';
import { FRAME_HEADER_BYTES, encodeManifest, type ChunkIndex } from '@lxchunk/format';
import { MAX_FETCH_IDS } from '@lxchunk/client';
import { ChunkEncoder, compressZstdFrame } from '@lxchunk/store';
import { chunkImageFile, chunkSeedFile, defaultChunkMethod } from './chunk-image-file.js';
import type { ProgressListener } from './progress-event.js';

export interface EstimateOptions {
  /** The file a host would pull (typically a new rootfs). */
  readonly target: string;
  /** Files the host already has. */
  readonly seeds: readonly string[];
  readonly params?: ChunkParams;
  /** How to cut the target and seeds; default 'squashfs' when the target is one, as push does. */
  readonly method?: ChunkMethod;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface EstimateResult {
  readonly bytesTotal: number;
  /** What a pull would receive: manifest (with the index, as sent: zstd), batch framing, and the missing chunks as the server would send them. */
  readonly bytesFetched: number;
  readonly bytesReused: number;
  readonly chunksTotal: number;
  readonly chunksFetched: number;
  readonly chunksReused: number;
  readonly indexBytes: number;
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
  // How push would cut it; what kind of image file it is does not matter for an estimate.
  const method = options.method ?? (await defaultChunkMethod(options.target));
  const params = options.params ?? defaultParamsFor(method);
  const have = new Set<string>();
  let baseManifest: Uint8Array | undefined;
  for (const seed of options.seeds) {
    const chunked = await chunkSeedFile(seed, { params, method, signal: options.signal });
    for (const chunk of chunked?.chunks ?? []) have.add(chunk.id);
    if (chunked && !baseManifest) baseManifest = manifestFor(chunked);
  }
  const encoder = new ChunkEncoder();
  const counted = new Set<string>();
  let wireChunkBytes = 0;
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
      wireChunkBytes += FRAME_HEADER_BYTES + encoder.encode(bytes).stored.length;
    },
  });
  const batches = Math.ceil(fetchedChunks / MAX_FETCH_IDS);
  // Each batch response: 4-byte magic and a trailer frame.
  const framing = batches * (4 + FRAME_HEADER_BYTES);
  const indexBytes = compressZstdFrame(manifestFor(target), { level: 3, ...(baseManifest ? { dictionary: baseManifest } : {}) }).length;
  const distinct = new Set(target.chunks.map((chunk) => chunk.id)).size;
  return {
    bytesTotal: target.size,
    bytesFetched: indexBytes + framing + wireChunkBytes,
    bytesReused: reusedBytes,
    chunksTotal: distinct,
    chunksFetched: fetchedChunks,
    chunksReused: distinct - fetchedChunks,
    indexBytes,
    params,
    method,
  };
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
