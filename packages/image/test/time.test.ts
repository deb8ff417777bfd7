import assert from 'node:assert/strict';
import { InvalidInputError } from '@lxchunk/errors';
import { normalizeArchitecture, toIsoUtc } from '../src/index.js';

describe('toIsoUtc', function () {
  it("spells unix seconds the manifest's way: literal Z, no fraction", function () {
    assert.equal(toIsoUtc(1700000000), '2023-11-14T22:13:20Z');
    assert.equal(toIsoUtc(0), '1970-01-01T00:00:00Z');
    assert.equal(toIsoUtc(951782400), '2000-02-29T00:00:00Z');
    assert.equal(toIsoUtc(253402300799), '9999-12-31T23:59:59Z');
  });

  it('refuses what has no such spelling', function () {
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 253402300800]) {
      assert.throws(() => toIsoUtc(bad), InvalidInputError, String(bad));
    }
  });
});

describe('normalizeArchitecture', function () {
  it("maps Debian names to LXD's and keeps the rest", function () {
    assert.equal(normalizeArchitecture('amd64'), 'x86_64');
    assert.equal(normalizeArchitecture('arm64'), 'aarch64');
    assert.equal(normalizeArchitecture('armhf'), 'armv7l');
    assert.equal(normalizeArchitecture('i386'), 'i686');
    assert.equal(normalizeArchitecture('ppc64el'), 'ppc64le');
    assert.equal(normalizeArchitecture('s390x'), 's390x');
    assert.equal(normalizeArchitecture('x86_64'), 'x86_64');
    assert.equal(normalizeArchitecture('aarch64'), 'aarch64');
    assert.equal(normalizeArchitecture('loongarch64'), 'loongarch64');
  });
});
