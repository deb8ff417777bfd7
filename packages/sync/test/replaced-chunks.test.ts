import assert from 'node:assert/strict';
import { MAX_DELTA_BASES } from '@lxchunk/format';
import { ReplacedChunks, type ChunkRef } from '../src/replaced-chunks.js';

const c = (id: string, length = 100): ChunkRef => ({ id: id.padEnd(64, '0'), length });
const ids = (refs: readonly string[] | undefined) => refs?.map((id) => id.replace(/0+$/, ''));

describe('ReplacedChunks', () => {
  // The old file: a b [c d e] f g. The new one: a b [x y] f g h.
  const old = [c('a'), c('b'), c('c'), c('d'), c('e'), c('f'), c('f1'), c('f2'), c('f3')];

  it('names, for a run between shared neighbours, the old chunks at the same relative position', () => {
    const replaced = new ReplacedChunks([old]);
    const target = [c('a'), c('b'), c('x', 150), c('y', 150), c('f')];
    const missing = new Set(['x', 'y'].map((id) => c(id).id));
    replaced.plan(target, (id) => missing.has(id));
    // x covers the first half of the run (old c, half of d), plus one old chunk of slack each side.
    assert.deepEqual(ids(replaced.basesFor(c('x').id)), ['c', 'd', 'e']);
    assert.deepEqual(ids(replaced.basesFor(c('y').id)), ['c', 'd', 'e']);
    assert.equal(replaced.basesFor(c('a').id), undefined, 'only missing chunks get bases');
    assert.equal(replaced.size, 2);
  });

  it('takes the old run from the one known side at a file edge, and names nothing without a known neighbour', () => {
    const replaced = new ReplacedChunks([old]);
    const atEnd = [c('f2'), c('z', 200)];
    replaced.plan(atEnd, (id) => id === c('z').id);
    assert.deepEqual(ids(replaced.basesFor(c('z').id)), ['f3']);
    const atStart = [c('s', 150), c('c')];
    replaced.plan(atStart, (id) => id === c('s').id);
    assert.deepEqual(ids(replaced.basesFor(c('s').id)), ['a', 'b']);
    const none = new ReplacedChunks([]);
    none.plan(atStart, (id) => id === c('s').id);
    assert.equal(none.size, 0);
    // A whole file missing, no neighbour anywhere: nothing says what it replaced.
    const unrelated = new ReplacedChunks([old]);
    unrelated.plan([c('u'), c('v')], () => true);
    assert.equal(unrelated.size, 0);
  });

  it('stays within the delta limits', () => {
    const many = Array.from({ length: 40 }, (_, i) => c(`m${i}`, 10));
    const replaced = new ReplacedChunks([[c('a'), ...many, c('b')]]);
    replaced.plan([c('a'), c('w', 400), c('b')], (id) => id === c('w').id);
    assert.equal(replaced.basesFor(c('w').id)!.length, MAX_DELTA_BASES);
  });
});
