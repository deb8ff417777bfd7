import assert from 'node:assert/strict';
import { InvalidParamsError } from '@lxchunk/errors';
import { chunkOffsets, indexStats, validateIndex, type ChunkIndex } from '../src/index.js';
import { GOLDEN_INDEX, PARAMS, assertFails } from './fixtures.js';

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);

function withChanges(changes: Partial<Record<keyof ChunkIndex, unknown>>): ChunkIndex {
  return { ...GOLDEN_INDEX, ...changes } as ChunkIndex;
}

describe('validateIndex', () => {
  it('returns an equal, deeply frozen copy of a valid index', () => {
    const input = { ...GOLDEN_INDEX, chunks: GOLDEN_INDEX.chunks.map((c) => ({ ...c })), extra: 1 } as ChunkIndex;
    const valid = validateIndex(input);
    assert.deepEqual(valid, GOLDEN_INDEX);
    assert.notEqual(valid, input);
    assert.ok(Object.isFrozen(valid) && Object.isFrozen(valid.chunks) && Object.isFrozen(valid.params));
    assert.ok(valid.chunks.every((c) => Object.isFrozen(c)));
  });

  it('accepts an empty file with no chunks', () => {
    const empty = { size: 0, sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', params: PARAMS, method: 'cdc' as const, chunks: [] };
    assert.deepEqual(validateIndex(empty), empty);
  });

  it('rejects a size that is negative, fractional, unsafe or not a number', () => {
    for (const size of [-1, 1.5, 2 ** 53, Number.NaN, '3000']) {
      assertFails(() => validateIndex(withChanges({ size })), 'MALFORMED_INDEX', /file size must be a non-negative safe integer/);
    }
  });

  it('rejects a sha256 that is not 64 lowercase hex', () => {
    for (const sha256 of ['CC'.repeat(32), 'c'.repeat(63), 'c'.repeat(65), 'zz'.repeat(32), 42]) {
      assertFails(() => validateIndex(withChanges({ sha256 })), 'MALFORMED_INDEX', /file sha256 must be 64 lowercase hex/);
    }
  });

  it('rejects invalid params, keeping the InvalidParamsError as the cause', () => {
    const err = assertFails(
      () => validateIndex(withChanges({ params: { min: 65536, avg: 16384, max: 262144 } })),
      'MALFORMED_INDEX',
      /invalid chunker params: .*min <= avg <= max/,
    );
    assert.ok(err.cause instanceof InvalidParamsError);
    assertFails(() => validateIndex(withChanges({ params: null })), 'MALFORMED_INDEX', /invalid chunker params/);
  });

  it('rejects a bad chunk id, naming the entry', () => {
    const chunks = [{ id: A, length: 1000 }, { id: B.toUpperCase(), length: 2000 }];
    assertFails(() => validateIndex(withChanges({ chunks })), 'MALFORMED_INDEX', /chunk 1: id must be 64 lowercase hex/);
  });

  it('rejects lengths that are zero, fractional or over params.max', () => {
    for (const length of [0, 0.5, -1, PARAMS.max + 1]) {
      const chunks = [{ id: A, length }];
      assertFails(() => validateIndex(withChanges({ size: 1000, chunks })), 'MALFORMED_INDEX', /chunk 0: length must be an integer from 1 to 262144/);
    }
    const atMax = { ...GOLDEN_INDEX, size: PARAMS.max, chunks: [{ id: A, length: PARAMS.max }] };
    assert.deepEqual(validateIndex(atMax), atMax);
  });

  it('rejects lengths that do not add up to the size, naming both numbers', () => {
    assertFails(() => validateIndex(withChanges({ size: 3001 })), 'MALFORMED_INDEX', /add up to 3000 bytes but the file size is 3001/);
  });

  it('rejects one id with two different lengths (same bytes cannot have two lengths)', () => {
    const chunks = [{ id: A, length: 1000 }, { id: A, length: 2000 }];
    assertFails(() => validateIndex(withChanges({ chunks })), 'MALFORMED_INDEX', /chunk 1: id a{64} appears with lengths 1000 and 2000/);
  });

  it('rejects values that are not objects or arrays where they should be', () => {
    assertFails(() => validateIndex(null as unknown as ChunkIndex), 'MALFORMED_INDEX', /expected an object, got null/);
    assertFails(() => validateIndex(withChanges({ chunks: {} })), 'MALFORMED_INDEX', /chunks must be an array, got object/);
    assertFails(() => validateIndex(withChanges({ chunks: [null] })), 'MALFORMED_INDEX', /chunk 0: expected an object, got null/);
  });
});

describe('chunkOffsets', () => {
  it('gives the start of every chunk', () => {
    const index = { ...GOLDEN_INDEX, size: 3500, chunks: [...GOLDEN_INDEX.chunks, { id: A, length: 500 }] };
    assert.deepEqual(Array.from(chunkOffsets(index)), [0, 1000, 3000]);
    assert.equal(chunkOffsets({ ...GOLDEN_INDEX, size: 0, chunks: [] }).length, 0);
  });

  it('stays exact past 4 GiB', () => {
    const max = 64 * 1024 * 1024;
    const chunks = Array.from({ length: 70 }, () => ({ id: A, length: max }));
    const offsets = chunkOffsets({ size: 70 * max, sha256: A, params: { min: max, avg: max, max }, method: 'squashfs', chunks });
    assert.equal(offsets[69], 69 * max);
    assert.ok(69 * max > 2 ** 32);
  });
});

describe('indexStats', () => {
  it('counts lengths and distinct chunks', () => {
    const chunks = [
      { id: A, length: 1000 },
      { id: B, length: 3000 },
      { id: A, length: 1000 },
      { id: 'cd'.repeat(32), length: 2 },
    ];
    assert.deepEqual(indexStats({ ...GOLDEN_INDEX, size: 5002, chunks }), {
      count: 4,
      minLength: 2,
      avgLength: 5002 / 4,
      maxLength: 3000,
      uniqueChunks: 3,
      uniqueBytes: 4002,
    });
  });

  it('is all zeros for an empty file', () => {
    assert.deepEqual(indexStats({ ...GOLDEN_INDEX, size: 0, chunks: [] }), {
      count: 0,
      minLength: 0,
      avgLength: 0,
      maxLength: 0,
      uniqueChunks: 0,
      uniqueBytes: 0,
    });
  });
});
