export { COMPRESSION_MAGIC_BYTES, detectCompression, type Compression } from './compression.js';
export {
  MAX_METADATA_YAML_BYTES,
  MAX_TEMPLATES,
  readImageMetadata,
  type ImageMetadata,
  type ReadImageMetadataOptions,
} from './image-metadata.js';
export { normalizeArchitecture } from './architecture.js';
export { detectRootfsKind, fileRoleFor, imageTypeFor, type RootfsKind, type RootfsRole } from './rootfs-kind.js';
export { toIsoUtc } from './time.js';
export { readHead } from './read-head.js';
