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

function describe(value: unknown): string {
  if (typeof value !== 'string') return typeof value;
  return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}… (${value.length} chars)` : JSON.stringify(value);
}
