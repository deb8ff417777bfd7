import assert from 'node:assert/strict';
import { versionKeys } from '../src/lxd-views/simplestreams-products.js';

const fp = (n: number) => n.toString(16).padStart(64, '0');
const at = (iso: string) => Date.parse(iso);

describe('simplestreams version names from an alias history', () => {
  it('names each build by the UTC minute of its move, the newest greatest, several in one minute told apart in order', () => {
    // Newest first, as the history is read.
    const keys = versionKeys([
      { target: fp(4), at: at('2026-12-03T05:02:00Z') },
      { target: fp(3), at: at('2026-12-03T05:01:59Z') },
      { target: fp(2), at: at('2026-12-03T05:01:10Z') },
      { target: fp(1), at: at('2026-12-02T23:59:00Z') },
    ]);
    assert.deepEqual([1, 2, 3, 4].map((n) => keys.get(fp(n))), ['20261202_2359', '20261203_0501', '20261203_0501_02', '20261203_0502']);
    // LXD takes the greatest name as the alias's image: sorted names follow the moves.
    const names = [1, 2, 3, 4].map((n) => keys.get(fp(n))!);
    assert.deepEqual([...names].sort(), names);
  });

  it('a build the alias returned to is named by its latest move, and the names of the others stay as they were', () => {
    const before = versionKeys([
      { target: fp(2), at: at('2026-12-03T06:00:00Z') },
      { target: fp(1), at: at('2026-12-02T06:00:00Z') },
    ]);
    const rolledBack = versionKeys([
      { target: fp(1), at: at('2026-12-04T06:00:00Z') },
      { target: fp(2), at: at('2026-12-03T06:00:00Z') },
      { target: fp(1), at: at('2026-12-02T06:00:00Z') },
    ]);
    assert.equal(rolledBack.get(fp(1)), '20261204_0600');
    assert.equal(rolledBack.get(fp(2)), before.get(fp(2)));
  });
});
