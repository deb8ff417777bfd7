export { pushImage, type AliasMove, type PushOptions, type PushResult } from './push-image.js';
export { pullImage, pulledFileName, type PullOptions, type PullResult, type PulledFile, type Seed } from './pull-image.js';
export { estimateTransfer, type EstimateOptions, type EstimateResult } from './estimate-transfer.js';
export { LocalChunks } from './local-chunks.js';
export { PartialFile, type Placement } from './partial-file.js';
export type { ProgressEvent, ProgressListener } from './progress-event.js';
export { chunkImageFile, chunkSeedFile, type ChunkedImageFile, type ImageChunkOptions } from './chunk-image-file.js';
// defaultChunkMethod: its former name, still imported by the CLI.
export { chooseChunkMethod, chooseChunkMethod as defaultChunkMethod } from './choose-chunk-method.js';
export { squashfsAdvice } from './squashfs-advice.js';
export { ManifestCache, type CachedManifest } from './manifest-cache.js';
export { fetchManifest, type FetchedManifest } from './fetch-manifest.js';
