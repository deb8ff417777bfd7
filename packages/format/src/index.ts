export { chunkOffsets, indexStats, validateIndex, type ChunkIndex, type IndexEntry, type IndexStats } from './chunk-index.js';
export { CONTENT_FILTERS, MAX_REBUILT_BLOCK, validateContentIndex, type ContentIndex, type RebuiltBlock } from './content-index.js';
export { CONTENT_INDEX_MAGIC, CONTENT_INDEX_VERSION, decodeContentIndex, encodeContentIndex } from './content-index-codec.js';
export { manifestChunkIds } from './manifest-chunk-ids.js';
export { INDEX_MAGIC, INDEX_VERSION, decodeIndex, encodeIndex, encodedIndexLength } from './index-codec.js';
export {
  FILE_ROLES,
  IMAGE_TYPES,
  MANIFEST_LIMITS,
  validateManifest,
  type FileRole,
  type ImageFile,
  type ImageManifest,
  type ImageType,
} from './image-manifest.js';
export { IMAGE_CHUNKS_MISSING_HEADER, MANIFEST_BASE_HEADER, MANIFEST_DICT_MEDIA_TYPE, MANIFEST_VERSION, MANIFEST_ZSTD_LEVEL, MAX_MANIFEST_BYTES, decodeManifest, encodeManifest } from './manifest-codec.js';
export {
  BATCH_CONTENT_TYPE,
  BATCH_MAGIC,
  ChunkBatchDecoder,
  FRAME_HEADER_BYTES,
  FrameStatus,
  MAX_FRAME_PAYLOAD,
  MAX_REDIRECT_URL_BYTES,
  batchStreamBytes,
  encodeBatchEnd,
  encodeBatchStart,
  encodeFrameHeader,
  type ChunkFrame,
} from './chunk-batch-codec.js';
export {
  DELTA_MAX_RATIO_PERCENT,
  DELTA_ZSTD_LEVEL,
  MAX_DELTA_BASES,
  MAX_DELTA_BASE_BYTES,
  decodeDeltaChunk,
  deltaDictionary,
  deltaPays,
  encodeDeltaPayload,
  parseDeltaPayload,
  type DeltaBaseSource,
  type DeltaPayload,
} from './chunk-delta.js';
export { parseFetchRequest, parseIdList, type FetchRequest } from './fetch-request.js';
export { ALIAS_NAME_MAX, aliasPath, validateAliasName } from './alias-name.js';
export {
  ChunkEncoder,
  DEFAULT_COMPRESSION_LEVEL,
  MAX_CHUNK_SIZE,
  ZSTD_MAX_RATIO_PERCENT,
  decodeChunk,
  verifyChunkBytes,
  zstdContentSize,
  type ChunkEncoding,
  type EncodedChunk,
} from './chunk-codec.js';
export { compressZstdFrame, inflateZstdFrame, zstdFrameContentSize, type ZstdFailure } from './zstd-frame.js';
export type { VerifyProblem, VerifyProgress, VerifyReport } from './verify-report.js';
export type { ImageSummary } from './image-summary.js';
export type { AliasExpectation, AliasHistoryEntry, AliasInfo } from './alias-info.js';
export type { AliasChange, ChangesResult } from './alias-change.js';
export type { GcReport } from './gc-report.js';
export { PROTOCOL_LIMITS, type ProtocolLimits } from './protocol-limits.js';
export { CLIENT_ACCEPT_ENCODING, acceptsEncoding } from './accepts-encoding.js';
export { certificateFingerprint, parseTlsFingerprint } from './tls-fingerprint.js';
