import assert from 'node:assert/strict';
import { get_chunks as wholeBufferCuts } from 'fastcdc-wasm';
import { ChunkerCore, DEFAULT_PARAMS, chunkId, validateParams, type ChunkParams } from '../src/index.js';
import { cutInPieces, digestCuts, type Cut } from './cuts.js';
import { seededBytes, seededInts } from '../src/testing.js';

function chunkInPieces(data: Uint8Array, params: ChunkParams, pieces: number[], windowBytes?: number): Cut[] {
  return cutInPieces(new ChunkerCore(params, windowBytes), data, pieces);
}

function reference(data: Uint8Array, params: ChunkParams): Cut[] {
  const offsets = wholeBufferCuts(data.slice(), params.min, params.avg, params.max);
  const cuts: Cut[] = [];
  for (let i = 0; i + 1 < offsets.length; i++) {
    const start = offsets[i]!;
    const end = offsets[i + 1]!;
    cuts.push({ offset: start, length: end - start, id: chunkId(data.subarray(start, end)) });
  }
  return cuts;
}

const SMALL: ChunkParams = { min: 1024, avg: 4096, max: 16384 };

describe('ChunkerCore', () => {
  describe('golden vectors (boundaries and ids must never drift silently)', () => {
    it('pins cuts and ids of 1 MiB of seeded bytes with small parameters', () => {
      const cuts = chunkInPieces(seededBytes(1 << 20), SMALL, []);
      assert.equal(cuts.length, GOLDEN_SMALL.count);
      assert.deepEqual(cuts.slice(0, 8).map((c) => c.offset), GOLDEN_SMALL.firstOffsets);
      assert.equal(cuts[0]!.id, GOLDEN_SMALL.firstId);
      assert.equal(digestCuts(cuts), GOLDEN_SMALL.digest);
    });

    it('pins cuts and ids of 8 MiB of seeded bytes with the default parameters', () => {
      const cuts = chunkInPieces(seededBytes(8 << 20, 42), DEFAULT_PARAMS, []);
      assert.equal(cuts.length, GOLDEN_DEFAULT.count);
      assert.deepEqual(cuts.slice(0, 8).map((c) => c.offset), GOLDEN_DEFAULT.firstOffsets);
      assert.equal(cuts[0]!.id, GOLDEN_DEFAULT.firstId);
      assert.equal(digestCuts(cuts), GOLDEN_DEFAULT.digest);
    });
  });

  describe('streaming gives the cuts of whole-buffer chunking however the input is split', () => {
    const data = seededBytes(3 << 20, 1234);
    const expected = reference(data, SMALL);

    it('agrees with the library on the whole buffer', () => {
      assert.deepEqual(chunkInPieces(data, SMALL, []), expected);
      assert.ok(expected.length > 100);
    });

    for (const [name, sizes] of [
      ['1-byte to 100-byte pieces', seededInts(4000, 100, 1).map((n) => n + 1)],
      ['pieces around the chunk sizes', seededInts(300, 40000, 2).map((n) => n + 1)],
      ['pieces larger than the window', seededInts(3, 1 << 20, 3).map((n) => n + (1 << 20))],
      ['empty pieces in between', [0, 5, 0, 0, 70000, 0, 1]],
    ] as const) {
      it(`with ${name}`, () => {
        assert.deepEqual(chunkInPieces(data, SMALL, [...sizes]), expected);
      });
    }

    it('with the smallest window the chunker allows', () => {
      const pieces = seededInts(500, 9000, 4).map((n) => n + 1);
      assert.deepEqual(chunkInPieces(data, SMALL, pieces, 2 * SMALL.max), expected);
    });

    it('with the default parameters and uneven pieces', () => {
      const big = seededBytes(6 << 20, 99);
      const pieces = seededInts(40, 400_000, 5).map((n) => n + 1);
      assert.deepEqual(chunkInPieces(big, DEFAULT_PARAMS, pieces), reference(big, DEFAULT_PARAMS));
    });
  });

  it('covers the input exactly: lengths within [min, max] except the last, offsets contiguous', () => {
    const data = seededBytes(2 << 20, 77);
    const cuts = chunkInPieces(data, SMALL, [333_333]);
    let next = 0;
    cuts.forEach((cut, i) => {
      assert.equal(cut.offset, next);
      assert.ok(cut.length <= SMALL.max);
      if (i < cuts.length - 1) assert.ok(cut.length >= SMALL.min);
      next += cut.length;
    });
    assert.equal(next, data.length);
  });

  it('cuts an input shorter than min into one chunk, and nothing into no chunk', () => {
    assert.deepEqual(chunkInPieces(seededBytes(10), SMALL, []).map((c) => c.length), [10]);
    assert.deepEqual(chunkInPieces(new Uint8Array(0), SMALL, []), []);
  });

  it('can be reused after finish', () => {
    const core = new ChunkerCore(SMALL);
    const first: number[] = [];
    const second: number[] = [];
    core.push(seededBytes(50_000), (offset) => first.push(offset));
    core.finish((offset) => first.push(offset));
    core.push(seededBytes(50_000), (offset) => second.push(offset));
    core.finish((offset) => second.push(offset));
    assert.deepEqual(second, first);
  });

  describe('guards the library limits so they never reach a user', () => {
    const bad: Array<[string, ChunkParams]> = [
      ['min > avg', { min: 8192, avg: 4096, max: 16384 }],
      ['avg > max', { min: 1024, avg: 32768, max: 16384 }],
      ['min below 64', { min: 63, avg: 256, max: 1024 }],
      ['avg below 256', { min: 64, avg: 255, max: 1024 }],
      ['max below 1024', { min: 64, avg: 256, max: 1023 }],
      ['max above 64 MiB', { min: 64, avg: 256, max: 64 * 1024 * 1024 + 1 }],
      ['a fraction', { min: 1024.5, avg: 4096, max: 16384 }],
      ['NaN', { min: Number.NaN, avg: 4096, max: 16384 }],
      ['a string', { min: '1024' as unknown as number, avg: 4096, max: 16384 }],
    ];
    for (const [name, params] of bad) {
      it(`rejects ${name} with INVALID_PARAMS`, () => {
        assert.throws(() => new ChunkerCore(params), { code: 'INVALID_PARAMS' });
        assert.throws(() => validateParams(params), { code: 'INVALID_PARAMS' });
      });
    }

    it('accepts the extremes the library takes', () => {
      const cuts = chunkInPieces(seededBytes(5000), { min: 64, avg: 256, max: 1024 }, [17]);
      assert.equal(cuts.reduce((sum, c) => sum + c.length, 0), 5000);
    });
  });
});


const GOLDEN_SMALL = {
  count: 272,
  firstOffsets: [0, 3807, 6657, 10111, 17133, 27529, 30368, 33789],
  firstId: '79d0e29b7ea55a0cfd8698c5ea354ebc00b85911bfeac22c7892b85c7941d067',
  digest: '8ddc2c0526d20f42a6d6603d6f07fa5a3d6f90ff1a560bae10fd47adaa653e6c',
};

const GOLDEN_DEFAULT = {
  count: 254,
  firstOffsets: [0, 18292, 47716, 74747, 119004, 146800, 173387, 206197],
  firstId: '9b9bd2799d8ff27e81ae54854754bc3f3dd8a018c243596067618f9a396583b1',
  digest: '8f9fea9d3324a5be99e84b038f2e1aac3c0f86a2cda12d4d60a0bd923866095d',
};
