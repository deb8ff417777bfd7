export { pushImage, type AliasMove, type PushOptions, type PushResult } from './push-image.js';
export { pullImage, pulledFileName, type PullOptions, type PullResult, type PulledFile, type Seed } from './pull-image.js';
export { estimateTransfer, type EstimateOptions, type EstimateResult } from './estimate-transfer.js';
export { LocalChunks } from './local-chunks.js';
export type { ProgressEvent, ProgressListener } from './progress-event.js';
export { chunkImageFile, chunkSeedFile, defaultChunkMethod, type ChunkedImageFile, type ImageChunkOptions } from './chunk-image-file.js';
export { squashfsAdvice } from './squashfs-advice.js';
export { ManifestCache, type CachedManifest } from './manifest-cache.js';
export { fetchManifest, type FetchedManifest } from './fetch-manifest.js';
