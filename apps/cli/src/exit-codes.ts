import { isLxchunkError, type ErrorCode } from '@lxchunk/errors';

/** Process exit codes, documented in the README; scripts may rely on them. */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  notFound: 3,
  integrity: 4,
  io: 5,
  unavailable: 6,
  auth: 7,
  conflict: 8,
  lxd: 9,
} as const;

const BY_CODE: Record<ErrorCode, number> = {
  INVALID_PARAMS: EXIT.usage,
  INVALID_ID: EXIT.usage,
  INVALID_INPUT: EXIT.usage,
  INVALID_DISK_IMAGE: EXIT.usage,
  CHUNK_NOT_FOUND: EXIT.notFound,
  MALFORMED_INDEX: EXIT.integrity,
  MALFORMED_MANIFEST: EXIT.integrity,
  CHUNK_CORRUPT: EXIT.integrity,
  HASH_MISMATCH: EXIT.integrity,
  SIZE_MISMATCH: EXIT.integrity,
  IO_ERROR: EXIT.io,
  STORAGE_FULL: EXIT.io,
  REQUEST_TIMEOUT: EXIT.unavailable,
  UNAUTHORIZED: EXIT.auth,
  FORBIDDEN: EXIT.auth,
  IMAGE_NOT_FOUND: EXIT.notFound,
  ALIAS_NOT_FOUND: EXIT.notFound,
  AMBIGUOUS_REF: EXIT.usage,
  NOT_FOUND: EXIT.notFound,
  METHOD_NOT_ALLOWED: EXIT.usage,
  CONFLICT: EXIT.conflict,
  IMAGE_IN_USE: EXIT.conflict,
  PRECONDITION_FAILED: EXIT.conflict,
  PRECONDITION_REQUIRED: EXIT.conflict,
  DATA_DIR_LOCKED: EXIT.conflict,
  AGENT_LOCKED: EXIT.conflict,
  PAYLOAD_TOO_LARGE: EXIT.usage,
  CHUNKS_MISSING: EXIT.integrity,
  UNAVAILABLE: EXIT.unavailable,
  PROTOCOL_ERROR: EXIT.unavailable,
  // Trust is configuration, like a token: waiting does not fix it.
  TLS_UNTRUSTED: EXIT.auth,
  INTERNAL: EXIT.internal,
  LXD_UNAVAILABLE: EXIT.lxd,
  LXD_ERROR: EXIT.lxd,
};

/** The exit code for an error code reported in a result rather than thrown. */
export function exitCodeFor(code: string): number {
  return (BY_CODE as Record<string, number>)[code] ?? EXIT.internal;
}

/** Node's own errors (ENOENT, EACCES, ENOSPC…) keep their code; anything else is a bug. */
export function describeFailure(err: unknown): { code: string; message: string; exitCode: number } {
  if (isLxchunkError(err)) return { code: err.code, message: err.message, exitCode: BY_CODE[err.code] };
  const sysCode = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (sysCode === 'ENOENT') return { code: 'NOT_FOUND', message, exitCode: EXIT.notFound };
  if (sysCode === 'EISDIR' || sysCode === 'ENOTDIR') return { code: 'INVALID_INPUT', message, exitCode: EXIT.usage };
  if (typeof sysCode === 'string' && sysCode.startsWith('E')) return { code: sysCode, message, exitCode: EXIT.io };
  return { code: 'INTERNAL', message: err instanceof Error && err.stack ? err.stack : message, exitCode: EXIT.internal };
}
