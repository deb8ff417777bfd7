export { CHUNK_METHODS, DEFAULT_PARAMS, DEFAULT_SQUASHFS_PARAMS, PARAM_LIMITS, defaultParamsFor, sameParams, validateParams, type ChunkMethod, type ChunkParams } from './chunk-params.js';
export { ID_BYTES, assertHex64, chunkId, idFromBytes, idToBytes, isChunkId, type ChunkId } from './chunk-id.js';
export { ChunkerCore, type ChunkSink } from './chunker-core.js';
export { ChunkScanner, type ChunkEvent, type ChunkedFile, type ScanOptions, type ScannedChunk, type SegmentedLayout } from './chunk-scanner.js';
export { SegmentedChunkerCore, type SegmentLengths } from './segmented-chunker-core.js';
export { chunkFile, chunkStream } from './chunk-file.js';
export { InlineSha256, type Sha256Handle, type Sha256Sink } from './sha256-sink.js';
export { Sha256Worker } from './sha256-worker.js';
