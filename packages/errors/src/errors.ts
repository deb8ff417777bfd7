import { LxchunkError } from './lxchunk-error.js';

/** Chunker parameters outside what the chunker supports (fastcdc-wasm would trap or cut wrongly). */
export class InvalidParamsError extends LxchunkError {
  constructor(message: string) {
    super('INVALID_PARAMS', message);
  }
}

/** A chunk id or fingerprint that is not 64 lowercase hex characters. */
export class InvalidIdError extends LxchunkError {
  constructor(what: string, value: unknown) {
    super('INVALID_ID', `${what} must be 64 lowercase hex characters, got ${describe(value)}`);
  }
}

/** Input the caller controls that is unusable (a wrong argument, a directory where a file belongs). */
export class InvalidInputError extends LxchunkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_INPUT', message, options);
  }
}

/**
 * A file given as a VM's disk that is neither a qcow2 nor a raw disk with a partition table:
 * LXD would import it and the VM would only fail at boot, so it is refused at push.
 */
export class InvalidDiskImageError extends LxchunkError {
  constructor(
    readonly path: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(
      'INVALID_DISK_IMAGE',
      `${path}: not a VM disk image (${problem}); expected a qcow2 (version 2 or 3) or a raw disk with an MBR or GPT partition table and a size that is a multiple of 512`,
      options,
    );
  }
}

export class MalformedIndexError extends LxchunkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MALFORMED_INDEX', `malformed chunk index: ${message}`, options);
  }
}

export class MalformedManifestError extends LxchunkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MALFORMED_MANIFEST', `malformed image manifest: ${message}`, options);
  }
}

export class ChunkNotFoundError extends LxchunkError {
  constructor(readonly id: string) {
    super('CHUNK_NOT_FOUND', `chunk ${id} not found`);
  }
}

/** Stored or received bytes whose BLAKE3 does not match the chunk id they claim to be. */
export class ChunkCorruptError extends LxchunkError {
  constructor(
    readonly id: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super('CHUNK_CORRUPT', `chunk ${id} is corrupt: ${detail}`, options);
  }
}

/** Content whose hash is not the one it was announced with (a file's sha256, an uploaded chunk). */
export class HashMismatchError extends LxchunkError {
  constructor(
    what: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super('HASH_MISMATCH', `${what}: expected hash ${expected}, got ${actual}`);
  }
}

export class SizeMismatchError extends LxchunkError {
  constructor(what: string, expected: number, actual: number) {
    super('SIZE_MISMATCH', `${what}: expected ${expected} bytes, got ${actual}`);
  }
}

export class IoError extends LxchunkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('IO_ERROR', message, options);
  }
}

/** A write failed for lack of space (ENOSPC, EDQUOT, SQLITE_FULL): retrying will not help until space is freed. */
export class StorageFullError extends LxchunkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORAGE_FULL', message, options);
  }
}

/** The request (its headers or its body) did not arrive in time. */
export class RequestTimeoutError extends LxchunkError {
  constructor(message: string) {
    super('REQUEST_TIMEOUT', message);
  }
}

function describe(value: unknown): string {
  if (typeof value !== 'string') return typeof value;
  return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}… (${value.length} chars)` : JSON.stringify(value);
}

/** No credentials where they are required, or credentials that are wrong or revoked. */
export class UnauthorizedError extends LxchunkError {
  constructor(message = 'a valid token is required') {
    super('UNAUTHORIZED', message);
  }
}

/** Valid credentials that lack the scope the operation needs. */
export class ForbiddenError extends LxchunkError {
  constructor(message: string) {
    super('FORBIDDEN', message);
  }
}

export class ImageNotFoundError extends LxchunkError {
  constructor(readonly fingerprint: string) {
    super('IMAGE_NOT_FOUND', `image ${fingerprint} not found`);
  }
}

export class AliasNotFoundError extends LxchunkError {
  /** `hint`, when given, says what else the caller may try (e.g. that a token may be needed). */
  constructor(
    readonly alias: string,
    hint?: string,
  ) {
    super('ALIAS_NOT_FOUND', `alias ${JSON.stringify(alias)} not found${hint ? `: ${hint}` : ''}`);
  }
}

/** A short fingerprint that more than one image starts with; `details.candidates` lists them. */
export class AmbiguousRefError extends LxchunkError {
  constructor(ref: string, candidates: ReadonlyArray<{ fingerprint: string; aliases: readonly string[] }>) {
    const listed = candidates
      .slice(0, 10)
      .map((c) => `${c.fingerprint}${c.aliases.length ? ` (${c.aliases.join(', ')})` : ''}`)
      .join(', ');
    const more = candidates.length > 10 ? ` and ${candidates.length - 10} more` : '';
    super('AMBIGUOUS_REF', `${JSON.stringify(ref)} is the start of ${candidates.length} image fingerprints: ${listed}${more}; give more of it`, {
      details: { candidates },
    });
  }
}

/** Something that is not a chunk, image or alias is missing: a route, a token, a file. */
export class NotFoundError extends LxchunkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('NOT_FOUND', message, options);
  }
}

/** The path exists, but not with this method; `allowed` is what the server's Allow header lists. */
export class MethodNotAllowedError extends LxchunkError {
  readonly allowed: readonly string[];
  constructor(method: string, path: string, allowed: readonly string[], options?: { cause?: unknown }) {
    super('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`, { ...options, details: { allowed } });
    this.allowed = allowed;
  }
}

export class ConflictError extends LxchunkError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', message, details ? { details } : undefined);
  }
}

export class ImageInUseError extends LxchunkError {
  constructor(fingerprint: string, aliases: readonly string[]) {
    super('IMAGE_IN_USE', `image ${fingerprint} is the target of ${aliases.map((a) => JSON.stringify(a)).join(', ')}`, {
      details: { aliases },
    });
  }
}

/** A compare-and-swap lost a race: the caller's view is stale. `details.current` says what is there. */
export class PreconditionFailedError extends LxchunkError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('PRECONDITION_FAILED', message, details ? { details } : undefined);
  }
}

export class PreconditionRequiredError extends LxchunkError {
  constructor(message: string) {
    super('PRECONDITION_REQUIRED', message);
  }
}

export class PayloadTooLargeError extends LxchunkError {
  constructor(message: string) {
    super('PAYLOAD_TOO_LARGE', message);
  }
}

/** A manifest refers to chunks the server does not have; `details.missing` lists (some of) them. */
export class ChunksMissingError extends LxchunkError {
  constructor(missing: readonly string[], count = missing.length) {
    super('CHUNKS_MISSING', `${count} referenced chunk(s) are not stored`, { details: { missing, count } });
  }
}

export class DataDirLockedError extends LxchunkError {
  constructor(dir: string, options?: { cause?: unknown }) {
    super('DATA_DIR_LOCKED', `${dir} is in use by another lxchunk server or gc (lock held)`, options);
  }
}

/** Another agent holds the instance lock on the same cache directory; `details` names it when known. */
export class AgentLockedError extends LxchunkError {
  constructor(dir: string, holder: { pid: number; mode: string } | undefined, options?: { cause?: unknown }) {
    const who = holder ? `another agent (${holder.mode}, pid ${holder.pid})` : 'another agent';
    super('AGENT_LOCKED', `${dir} is in use by ${who}`, { ...options, ...(holder ? { details: { pid: holder.pid, mode: holder.mode } } : {}) });
  }
}

/** The other side cannot be reached or is overloaded; retrying later may work. */
export class UnavailableError extends LxchunkError {
  /** When known (a server shedding load says so): how long to wait before retrying. */
  readonly retryAfterSeconds: number | undefined;

  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super('UNAVAILABLE', message, options);
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }
}

/** The other side answered something that does not follow the protocol. */
export class ProtocolError extends LxchunkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('PROTOCOL_ERROR', message, options);
  }
}

/**
 * The server's TLS certificate is not one we trust: it does not chain to the trusted CAs (or
 * does not name the host), or it is not the pinned one. Not transient: retrying or moving to a
 * replica would only repeat it, and it may be an attacker's.
 */
export class TlsUntrustedError extends LxchunkError {
  constructor(message: string, details: { seen?: string; expected?: string; reason?: string }, options?: { cause?: unknown }) {
    super('TLS_UNTRUSTED', message, { ...options, details });
  }
}

export class InternalError extends LxchunkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INTERNAL', message, options);
  }
}

/** No LXD daemon answers on any known socket (not installed, not running, or no permission). */
export class LxdUnavailableError extends LxchunkError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('LXD_UNAVAILABLE', message, options);
  }
}

/** LXD answered with an error; `details` carries its status code and message. */
export class LxdError extends LxchunkError {
  constructor(message: string, details: { status: number; lxdCode?: number; operation?: string }, options?: { cause?: unknown }) {
    super('LXD_ERROR', message, { ...options, details });
  }
}
