import { ForbiddenError, NotFoundError, PayloadTooLargeError, ProtocolError, UnauthorizedError, UnavailableError } from './errors.js';
import { ERROR_CODES, LxchunkError, type ErrorCode } from './lxchunk-error.js';

/** The one table from error codes to HTTP statuses. The server answers with it; the client reads it back. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  INVALID_PARAMS: 400,
  INVALID_ID: 400,
  INVALID_INPUT: 400,
  INVALID_DISK_IMAGE: 400,
  MALFORMED_INDEX: 422,
  MALFORMED_MANIFEST: 422,
  CHUNK_NOT_FOUND: 404,
  CHUNK_CORRUPT: 500,
  HASH_MISMATCH: 422,
  SIZE_MISMATCH: 400,
  IO_ERROR: 500,
  STORAGE_FULL: 507,
  REQUEST_TIMEOUT: 408,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  IMAGE_NOT_FOUND: 404,
  ALIAS_NOT_FOUND: 404,
  AMBIGUOUS_REF: 400,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  IMAGE_IN_USE: 409,
  PRECONDITION_FAILED: 412,
  PRECONDITION_REQUIRED: 428,
  PAYLOAD_TOO_LARGE: 413,
  CHUNKS_MISSING: 422,
  DATA_DIR_LOCKED: 503,
  AGENT_LOCKED: 409,
  UNAVAILABLE: 503,
  PROTOCOL_ERROR: 502,
  // Raised by clients only (the server's certificate); a gateway's word for a bad upstream.
  TLS_UNTRUSTED: 502,
  INTERNAL: 500,
  LXD_UNAVAILABLE: 503,
  LXD_ERROR: 502,
});

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: Record<string, unknown> };
}

export function errorBody(err: LxchunkError): ErrorBody {
  return { error: err.toJSON() as ErrorBody['error'] };
}

/** Rebuilds the error a server sent with the same code, message and details: callers branch on codes, local or remote. */
export function errorFromBody(status: number, body: unknown): LxchunkError {
  const error = (body as Partial<ErrorBody> | undefined)?.error;
  const code = error?.code;
  const message = typeof error?.message === 'string' ? error.message : `HTTP ${status}`;
  const details = error?.details && typeof error.details === 'object' ? error.details : undefined;
  if (typeof code !== 'string' || !(ERROR_CODES as readonly string[]).includes(code)) {
    if (status === 401) return new UnauthorizedError(message);
    if (status === 403) return new ForbiddenError(message);
    if (status === 413) return new PayloadTooLargeError(message);
    // A HEAD answer has no body to carry the code.
    if (status === 404) return new NotFoundError(message);
    if (status >= 500) return new UnavailableError(`server error: ${message}`);
    return new ProtocolError(`unexpected HTTP ${status} without an lxchunk error: ${message}`);
  }
  return new LxchunkError(code as ErrorCode, message, details ? { details } : undefined);
}
