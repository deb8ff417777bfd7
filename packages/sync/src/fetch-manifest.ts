import type { ChunkServerClient } from '@lxchunk/client';
import { isLxchunkError } from '@lxchunk/errors';
import type { ImageManifest } from '@lxchunk/format';
import type { CachedManifest, ManifestCache } from './manifest-cache.js';

export interface FetchedManifest {
  readonly manifest: ImageManifest;
  readonly bytes: Uint8Array;
  /** The cached manifest the server compressed against, if any. */
  readonly base?: string;
}

/**
 * Gets an image's manifest, offering the server a manifest this host already holds as the base
 * to compress against (`preferredBase` if cached, else the newest cached one), and caches the
 * result for the next pull. A base that fails to decode the answer (a cache file changed under
 * us) is dropped and the manifest fetched again without one.
 */
export async function fetchManifest(
  client: ChunkServerClient,
  fingerprint: string,
  options: { manifests?: ManifestCache; preferredBase?: string; signal?: AbortSignal } = {},
): Promise<FetchedManifest> {
  const { manifests, signal } = options;
  let base: CachedManifest | undefined;
  if (manifests) {
    // Even a manifest already held is asked for: the server still decides who may read the image.
    base = (await manifests.get(options.preferredBase ?? fingerprint)) ?? (await manifests.newest());
  }
  let fetched: FetchedManifest;
  try {
    fetched = await client.getManifest(fingerprint, { ...(base ? { base } : {}), ...(signal ? { signal } : {}) });
  } catch (err) {
    if (!base || !isLxchunkError(err, 'PROTOCOL_ERROR')) throw err;
    fetched = await client.getManifest(fingerprint, signal ? { signal } : {});
  }
  await manifests?.put(fingerprint, fetched.bytes);
  return fetched;
}
