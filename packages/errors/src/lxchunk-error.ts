/**
 * Every error lxchunk raises on purpose carries a stable `code`. Callers branch on the code, never
 * on the message; the server maps codes to HTTP statuses and the client maps them back.
 */
export const ERROR_CODES = [
  'INVALID_PARAMS',
  'INVALID_ID',
  'INVALID_INPUT',
  'MALFORMED_INDEX',
  'MALFORMED_MANIFEST',
  'CHUNK_NOT_FOUND',
  'CHUNK_CORRUPT',
  'HASH_MISMATCH',
  'SIZE_MISMATCH',
  'IO_ERROR',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class LxchunkError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isLxchunkError(err: unknown, code?: ErrorCode): err is LxchunkError {
  return err instanceof LxchunkError && (code === undefined || err.code === code);
}
