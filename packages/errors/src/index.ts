export { ERROR_CODES, LxchunkError, isLxchunkError, type ErrorCode } from './lxchunk-error.js';
export {
  ChunkCorruptError,
  ChunkNotFoundError,
  HashMismatchError,
  InvalidIdError,
  InvalidInputError,
  InvalidParamsError,
  IoError,
  MalformedIndexError,
  MalformedManifestError,
  SizeMismatchError,
} from './errors.js';
