export { ERROR_CODES, LxchunkError, isLxchunkError, type ErrorCode } from './lxchunk-error.js';
export * from './errors.js';
export { HTTP_STATUS, errorBody, errorFromBody, type ErrorBody } from './http-status.js';
export { withIoError } from './with-io-error.js';
export { crashPoint } from './crash-point.js';
export { checkUserPath, userPathError, type UserPathKind } from './user-path.js';
export { abortReason, forEachBounded } from './for-each-bounded.js';
