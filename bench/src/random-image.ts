import { createHash, randomFillSync } from 'node:crypto';
import { chunkId, type ChunkParams } from '@lxchunk/chunker';
import { encodeManifest, type ChunkIndex } from '@lxchunk/format';
import { cdcLikeSizes } from './cdc-like-sizes.js';

export interface ImageChunk {
  readonly id: string;
  readonly length: number;
  /** Dropped (undefined) once uploaded, so a big image does not stay in memory. */
  bytes: Uint8Array | undefined;
}

export interface RandomImage {
  readonly fingerprint: string;
  /** `encodeManifest` bytes of a public container image. */
  readonly manifest: Uint8Array;
  /** The metadata file's one chunk. */
  readonly metadata: ImageChunk;
  /** The rootfs chunks in file order (all distinct: random data never repeats). */
  readonly rootfs: readonly ImageChunk[];
  /** Sum of the rootfs chunk lengths. */
  readonly rootfsBytes: number;
}

const METADATA_BYTES = 4096;

/**
 * A synthetic LXD split image whose rootfs is `bytes` of random data (like an xz squashfs: no
 * repeats, nothing compressible) cut into CDC-like chunk lengths, with real BLAKE3 ids, real
 * sha256s and a fingerprint computed as LXD does (sha256 of metadata ‖ rootfs).
 */
export function randomImage(bytes: number, params: ChunkParams, seed = 1): RandomImage {
  const metadataBytes = randomFillSync(Buffer.allocUnsafe(METADATA_BYTES));
  const metadata: ImageChunk = { id: chunkId(metadataBytes), length: metadataBytes.length, bytes: metadataBytes };
  const rootfs: ImageChunk[] = [];
  for (const length of cdcLikeSizes(bytes, params, seed)) {
    const chunk = randomFillSync(Buffer.allocUnsafe(length));
    rootfs.push({ id: chunkId(chunk), length, bytes: chunk });
  }
  return assembleImage(metadata, rootfs, params, `random ${bytes}-byte rootfs, avg chunk ${params.avg}`);
}

/**
 * The image made of these chunks (every one still holding its bytes): sha256s, the fingerprint
 * as LXD computes it (sha256 of metadata ‖ rootfs) and a public container manifest.
 */
export function assembleImage(metadata: ImageChunk, rootfs: readonly ImageChunk[], params: ChunkParams, description: string): RandomImage {
  const fingerprintHash = createHash('sha256');
  const rootfsHash = createHash('sha256');
  fingerprintHash.update(metadata.bytes!);
  let bytes = 0;
  for (const chunk of rootfs) {
    rootfsHash.update(chunk.bytes!);
    fingerprintHash.update(chunk.bytes!);
    bytes += chunk.length;
  }
  const fingerprint = fingerprintHash.digest('hex');
  const metadataIndex: ChunkIndex = {
    size: metadata.length,
    sha256: createHash('sha256').update(metadata.bytes!).digest('hex'),
    params,
    method: 'cdc',
    chunks: [{ id: metadata.id, length: metadata.length }],
  };
  const rootfsIndex: ChunkIndex = {
    size: bytes,
    sha256: rootfsHash.digest('hex'),
    params,
    method: 'cdc',
    chunks: rootfs.map(({ id, length }) => ({ id, length })),
  };
  const manifest = encodeManifest({
    fingerprint,
    type: 'container',
    architecture: 'x86_64',
    created: new Date().toISOString(),
    public: true,
    properties: { os: 'bench', description },
    files: [
      { role: 'metadata', index: metadataIndex },
      { role: 'rootfs', index: rootfsIndex },
    ],
  });
  return { fingerprint, manifest, metadata, rootfs, rootfsBytes: bytes };
}
