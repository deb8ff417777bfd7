/**
 * Every error lxchunk raises on purpose carries a stable `code`. Callers branch on the code, never
 * on the message; the server maps codes to HTTP statuses and the client maps them back.
 */
export const ERROR_CODES = [
  'INVALID_PARAMS',
  'INVALID_ID',
  'INVALID_INPUT',
  'INVALID_DISK_IMAGE',
  'MALFORMED_INDEX',
  'MALFORMED_MANIFEST',
  'CHUNK_NOT_FOUND',
  'CHUNK_CORRUPT',
  'HASH_MISMATCH',
  'SIZE_MISMATCH',
  'IO_ERROR',
  'STORAGE_FULL',
  'REQUEST_TIMEOUT',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'IMAGE_NOT_FOUND',
  'ALIAS_NOT_FOUND',
  'AMBIGUOUS_REF',
  'NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONFLICT',
  'IMAGE_IN_USE',
  'PRECONDITION_FAILED',
  'PRECONDITION_REQUIRED',
  'PAYLOAD_TOO_LARGE',
  'CHUNKS_MISSING',
  'DATA_DIR_LOCKED',
  'AGENT_LOCKED',
  'UNAVAILABLE',
  'PROTOCOL_ERROR',
  'TLS_UNTRUSTED',
  'INTERNAL',
  'LXD_UNAVAILABLE',
  'LXD_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class LxchunkError extends Error {
  readonly code: ErrorCode;

  /** Machine-readable specifics (e.g. the missing chunk ids); sent to HTTP clients as is. */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isLxchunkError(err: unknown, code?: ErrorCode): err is LxchunkError {
  return err instanceof LxchunkError && (code === undefined || err.code === code);
}
