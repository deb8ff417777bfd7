export { chunkOffsets, indexStats, validateIndex, type ChunkIndex, type IndexEntry, type IndexStats } from './chunk-index.js';
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
export { IMAGE_CHUNKS_MISSING_HEADER, MANIFEST_BASE_HEADER, MANIFEST_DICT_MEDIA_TYPE, MANIFEST_VERSION, MAX_MANIFEST_BYTES, decodeManifest, encodeManifest } from './manifest-codec.js';
export {
  BATCH_CONTENT_TYPE,
  BATCH_MAGIC,
  ChunkBatchDecoder,
  FRAME_HEADER_BYTES,
  FrameStatus,
  MAX_FRAME_PAYLOAD,
  encodeBatchEnd,
  encodeBatchStart,
  encodeFrameHeader,
  type ChunkFrame,
} from './chunk-batch-codec.js';
export { aliasPath, validateAliasName } from './alias-name.js';
