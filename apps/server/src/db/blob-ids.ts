import { assertHex64 } from '@lxchunk/chunker';

/**
 * Chunk ids and fingerprints are 64 lowercase hex characters in the API and 32-byte BLOBs in the
 * database; these convert at the repository boundary. `toBlob` throws InvalidIdError (400) for
 * anything that is not 64 lowercase hex, so no malformed id ever reaches SQL.
 */
export function toBlob(hex: string, what: string): Buffer {
  assertHex64(hex, what);
  return Buffer.from(hex, 'hex');
}

export function fromBlob(blob: Uint8Array): string {
  return Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('hex');
}

/** Epoch milliseconds: a safe integer (negative allowed, though no caller should need it). */
export function isEpochMs(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

/** Distinct, as BLOBs, in one order: every writer takes the rows in the same order (no deadlocks). */
export function sortedBlobs(ids: readonly string[], what = 'chunk id'): Buffer[] {
  return [...new Set(ids)].sort().map((id) => toBlob(id, what));
}
