import assert from 'node:assert/strict';
import { acceptsEncoding } from '../src/index.js';

describe('acceptsEncoding', () => {
  it('accepts zstd named with a positive weight, in any case and position', () => {
    for (const header of ['zstd', 'ZSTD', 'gzip, zstd', ' zstd ;q=1', 'zstd;q=0.5', 'zstd; q=0.001', 'br;q=0, zstd', 'zstd, zstd']) {
      assert.equal(acceptsEncoding(header, 'zstd'), true, header);
    }
  });

  it('refuses an absent header, other codings, `*`, a zero or malformed weight', () => {
    for (const header of [undefined, '', ',,,', 'gzip', '*', '*;q=1', 'zstd;q=0', 'zstd;q=0.000', 'zstd;q=abc', 'zstd;q=2', 'zstd;q=0.0001', 'xzstd', 'x'.repeat(8000)]) {
      assert.equal(acceptsEncoding(header, 'zstd'), false, String(header));
    }
  });
});
