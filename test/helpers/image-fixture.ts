import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { chunkStream, type ChunkParams } from '@lxchunk/chunker';
import { seededBytes as seeded, xorshift32 } from '@lxchunk/chunker/testing';
import { encodeManifest, type ChunkIndex, type ImageManifest } from '@lxchunk/format';

export const SMALL_PARAMS: ChunkParams = { min: 1024, avg: 4096, max: 16384 };

export interface ImageFixture {
  readonly fingerprint: string;
  readonly manifest: ImageManifest;
  readonly manifestBytes: Uint8Array;
  /** Every distinct chunk of the image, by id. */
  readonly chunks: ReadonlyMap<string, Uint8Array>;
  readonly metadata: Uint8Array;
  readonly rootfs: Uint8Array;
}

// The tests' one seeded generator, re-exported under the names the tests use.
export { seeded, xorshift32 };

async function indexOf(bytes: Uint8Array, chunks: Map<string, Uint8Array>): Promise<ChunkIndex> {
  return chunkStream(Readable.from([bytes]), {
    params: SMALL_PARAMS,
    onChunk: ({ id, bytes: chunk }) => chunks.set(id, chunk.slice()),
  });
}

/**
 * A container image made of a metadata "tarball" and a rootfs, chunked for real with small
 * parameters so a few hundred KiB give many chunks. `shareWith` reuses part of another rootfs, as
 * a nightly rebuild would.
 */
export async function makeImage(options: {
  seed: number;
  public?: boolean;
  rootfsBytes?: number;
  shareWith?: ImageFixture;
  properties?: Record<string, string>;
}): Promise<ImageFixture> {
  const metadata = seeded(3000, options.seed * 7 + 1);
  const size = options.rootfsBytes ?? 200_000;
  const rootfs = seeded(size, options.seed * 7 + 2);
  if (options.shareWith) rootfs.set(options.shareWith.rootfs.subarray(0, Math.floor(size * 0.8)), 0);
  const chunks = new Map<string, Uint8Array>();
  const metadataIndex = await indexOf(metadata, chunks);
  const rootfsIndex = await indexOf(rootfs, chunks);
  const fingerprint = createHash('sha256').update(metadata).update(rootfs).digest('hex');
  const manifest: ImageManifest = {
    fingerprint,
    type: 'container',
    architecture: 'x86_64',
    created: '2026-11-28T00:00:00Z',
    public: options.public ?? false,
    properties: options.properties ?? { os: 'debian', release: 'bookworm' },
    files: [
      { role: 'metadata', index: metadataIndex },
      { role: 'rootfs', index: rootfsIndex },
    ],
  };
  return { fingerprint, manifest, manifestBytes: encodeManifest(manifest), chunks, metadata, rootfs };
}
