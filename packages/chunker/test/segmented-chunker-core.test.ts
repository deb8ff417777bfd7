import assert from 'node:assert/strict';
import { SegmentedChunkerCore, chunkId, type ChunkParams } from '../src/index.js';
import { cutInPieces, digestCuts, type Cut } from './cuts.js';
import { seededBytes, seededInts } from '../src/testing.js';


const SMALL: ChunkParams = { min: 1024, avg: 4096, max: 16384 };

function cutSegmented(data: Uint8Array, segments: number[], params: ChunkParams, pieces: number[] = []): Cut[] {
  return cutInPieces(new SegmentedChunkerCore(params, segments), data, pieces);
}

/** A squashfs-like layout: mostly small units (small files, metadata blocks), some large blocks. */
function layout(count: number, seed: number): number[] {
  const kinds = seededInts(count, 100, seed);
  const sizes = seededInts(count, 1 << 20, seed + 1);
  return kinds.map((kind, i) => {
    const r = sizes[i]!;
    if (kind < 70) return 1 + (r % 900); // smaller than min: grouped
    if (kind < 90) return 1024 + (r % 15000); // one to a few chunks
    return 16384 + (r % 60000); // several CDC chunks
  });
}

function starts(segments: number[]): Set<number> {
  const out = new Set<number>();
  let at = 0;
  for (const length of segments) {
    out.add(at);
    at += length;
  }
  out.add(at);
  return out;
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}


describe('SegmentedChunkerCore', () => {
  const segments = layout(600, 11);
  const data = seededBytes(sum(segments), 99);
  const cuts = cutSegmented(data, segments, SMALL);

  it('covers the input exactly, in order', () => {
    let at = 0;
    for (const cut of cuts) {
      assert.equal(cut.offset, at);
      assert.deepEqual(cut.id, chunkId(data.subarray(cut.offset, cut.offset + cut.length)));
      at += cut.length;
    }
    assert.equal(at, data.length);
  });

  it('starts a chunk at every large segment and never cuts inside a small one', () => {
    const chunkStarts = new Set(cuts.map((c) => c.offset));
    const boundaries = starts(segments);
    let at = 0;
    for (const length of segments) {
      if (length >= SMALL.min) assert.ok(chunkStarts.has(at), `a large segment at ${at} does not start a chunk`);
      else for (let inside = at + 1; inside < at + length; inside++) assert.ok(!chunkStarts.has(inside));
      at += length;
    }
    // Every chunk inside a small-segment group ends on a segment boundary.
    for (const cut of cuts) {
      if (!boundaries.has(cut.offset + cut.length)) {
        const segmentAt = [...boundaries].filter((b) => b <= cut.offset).pop()!;
        const index = [...boundaries].indexOf(segmentAt);
        assert.ok(segments[index]! >= SMALL.min, `a cut at ${cut.offset + cut.length} splits a small segment`);
      }
    }
  });

  it('keeps chunks within max and groups small segments to about min bytes', () => {
    assert.ok(cuts.every((c) => c.length >= 1 && c.length <= SMALL.max));
    const groups: number[] = [];
    let at = 0;
    let group = 0;
    const chunkEnds = new Set(cuts.map((c) => c.offset + c.length));
    for (const length of segments) {
      at += length;
      if (length >= SMALL.min) continue;
      group += length;
      if (chunkEnds.has(at)) {
        groups.push(group);
        group = 0;
      }
    }
    const mean = sum(groups) / groups.length;
    assert.ok(groups.length > 100, `only ${groups.length} groups`);
    assert.ok(mean > SMALL.min / 3 && mean < SMALL.min * 3, `groups average ${mean} bytes for min ${SMALL.min}`);
  });

  it('gives the same cuts however the input is split', () => {
    for (const seed of [1, 2, 3]) {
      const pieces = seededInts(200, 5000, seed).map((n) => n + 1);
      assert.deepEqual(cutSegmented(data, segments, SMALL, pieces), cuts);
    }
    assert.deepEqual(cutSegmented(data, segments, SMALL, Array.from({ length: 3000 }, () => 1)), cuts);
  });

  it('finds the same chunks when a segment is inserted or changed elsewhere', () => {
    // Insert a new large block and change one small segment near the start.
    const insertAt = 40;
    const before = sum(segments.slice(0, insertAt));
    const inserted = seededBytes(20000, 5);
    const changedSegment = 10;
    const changedAt = sum(segments.slice(0, changedSegment));
    const modified = Buffer.concat([data.subarray(0, before), inserted, data.subarray(before)]);
    modified[changedAt] = modified[changedAt]! ^ 0xff;
    const newSegments = [...segments.slice(0, insertAt), inserted.length, ...segments.slice(insertAt)];
    const newCuts = cutSegmented(modified, newSegments, SMALL);

    const old = new Set(cuts.map((c) => c.id));
    const missing = newCuts.filter((c) => !old.has(c.id));
    const missingBytes = sum(missing.map((c) => c.length));
    // The inserted block, the group holding the changed byte, and at most a group or two where
    // the grouping re-synchronises.
    assert.ok(missingBytes < inserted.length + 6 * SMALL.max, `${missingBytes} bytes of new chunks`);
    assert.ok(missing.some((c) => c.offset === before), 'the inserted block is a new chunk of its own');
  });

  it('pins cuts and ids of seeded input (golden vector)', () => {
    assert.equal(cuts.length, GOLDEN.count);
    assert.deepEqual(cuts.slice(0, 8).map((c) => c.offset), GOLDEN.firstOffsets);
    assert.equal(digestCuts(cuts), GOLDEN.digest);
  });

  it('skips empty segments', () => {
    const withEmpty = segments.flatMap((length) => [0, length]);
    assert.deepEqual(cutSegmented(data, withEmpty, SMALL), cuts);
  });

  it('refuses input longer or shorter than its segments', () => {
    assert.throws(() => cutSegmented(data, segments.slice(0, -1), SMALL), /runs past its segments/);
    assert.throws(() => cutSegmented(data.subarray(0, data.length - 1), segments, SMALL), /ended 1 bytes into a segment/);
    assert.throws(() => cutSegmented(data.subarray(0, data.length - segments.at(-1)!), segments, SMALL), /segments left over/);
    assert.throws(() => cutSegmented(data, [-1, ...segments], SMALL), /invalid segment length/);
  });
});

const GOLDEN = {
  count: 1322,
  firstOffsets: [0, 7081, 11165, 15319, 19030, 21116, 25121, 28422],
  digest: '03814c6602ae01fc4a797f3f98b5a4857f2027b95bb8c77b7dbcc9cb0ff4ef77',
};
