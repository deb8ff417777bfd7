import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { type ChunkParams } from '@lxchunk/chunker';
import { LxchunkError, type ErrorCode } from '@lxchunk/errors';
import type { ChunkIndex, IndexEntry } from '../src/index.js';

export const PARAMS: ChunkParams = { min: 16384, avg: 65536, max: 262144 };
/** Small params so random indexes stay small and fast. */
export const SMALL_PARAMS: ChunkParams = { min: 64, avg: 256, max: 1024 };

/** An integer in [low, high]. */
export function between(rand: () => number, low: number, high: number): number {
  return low + (rand() % (high - low + 1));
}

export function randomHex64(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += rand().toString(16).padStart(8, '0');
  return s;
}

export function randomIndex(rand: () => number, count: number, params: ChunkParams = SMALL_PARAMS): ChunkIndex {
  const chunks: IndexEntry[] = [];
  let size = 0;
  for (let i = 0; i < count; i++) {
    const length = between(rand, 1, params.max);
    chunks.push({ id: randomHex64(rand), length });
    size += length;
  }
  return { size, sha256: randomHex64(rand), params, method: rand() < 2 ** 31 ? 'cdc' : 'squashfs', chunks };
}

/** The golden index of the tests: small enough to check by hand against the documented layout. */
export const GOLDEN_INDEX: ChunkIndex = {
  size: 3000,
  sha256: 'cc'.repeat(32),
  params: PARAMS,
  method: 'cdc',
  chunks: [
    { id: 'aa'.repeat(32), length: 1000 },
    { id: 'bb'.repeat(32), length: 2000 },
  ],
};

/** Recomputes the trailer, so a test reaches the check it means to and not the checksum. */
export function reseal(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  if (out.length < 32) return out;
  const body = out.subarray(0, out.length - 32);
  out.set(createHash('sha256').update(body).digest(), out.length - 32);
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Asserts `fn` throws an LxchunkError of `code` whose message matches `pattern`; returns it. */
export function assertFails(fn: () => unknown, code: ErrorCode, pattern: RegExp): LxchunkError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected a ${code} error, nothing was thrown`);
  assert.ok(caught instanceof LxchunkError, `expected a ${code} error, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}
