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
