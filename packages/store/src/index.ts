export type {
  ChunkEncoding,
  ChunkPruner,
  ChunkQuarantine,
  ChunkReader,
  ChunkStat,
  ChunkStore,
  ChunkSource,
  ChunkWriter,
  FetchOptions,
  OnFetchedChunk,
  PutResult,
  QuarantineResult,
  QuarantinedChunk,
  StoredChunk,
  StoredChunkSource,
  ChunkUrlSigner,
} from './chunk-store.js';
export { FsChunkStore, type ChunkLocation, type FsChunkStoreOptions } from './fs-chunk-store.js';
export { ReadThroughCache } from './read-through-cache.js';
export { MemoryChunkStore, type MemoryChunkRecord, type MemoryChunkStoreOptions } from './memory-chunk-store.js';
export {
  MAX_LISTED_PROBLEMS,
  verifyChunks,
  type VerifyOptions,
  type VerifyProblem,
  type VerifyProgress,
  type VerifyReport,
} from './verify-chunks.js';
export { PRIVATE_DIR, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from './private-mode.js';
export { writePrivateFile } from './write-private-file.js';
export { syncDir } from './sync-dir.js';
export { ExclusiveFileLock } from './exclusive-file-lock.js';
export { S3ChunkStore, type S3ChunkStoreOptions, type S3ChunkStoreUrlOptions } from './s3-chunk-store.js';
export { s3ClientFromEnv, type S3ClientFromEnvOptions } from './s3-client-from-env.js';
export { parseS3Url, type S3Location } from './s3-location.js';
