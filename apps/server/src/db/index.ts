export { MetadataDb, type MetadataDbOptions } from './metadata-db.js';
export { SCHEMA_VERSION } from './schema.js';
export {
  ImageRepo,
  type ChunkAccess,
  type ImageListFilter,
  type ImageSummary,
  type NewImage,
  type StoredImage,
} from './image-repo.js';
export {
  ALIAS_DESCRIPTION_MAX,
  AliasRepo,
  isValidAliasName,
  type AliasExpectation,
  type AliasHistoryEntry,
  type AliasRecord,
  type AliasSetResult,
  type Change,
} from './alias-repo.js';
export {
  LAST_USED_RESOLUTION_MS,
  TOKEN_NAME_PATTERN,
  TOKEN_PATTERN,
  TOKEN_SCOPES,
  TokenRepo,
  tokenHasScope,
  type NewToken,
  type TokenInfo,
  type TokenScope,
  type VerifiedToken,
} from './token-repo.js';
export { LeaseRepo } from './lease-repo.js';
