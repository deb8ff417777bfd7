import assert from 'node:assert/strict';
import { aliasPath, validateAliasName } from '../src/index.js';

describe('alias names', () => {
  it('accept LXD-style names', () => {
    for (const name of ['debian', 'debian/12', 'debian/12/cloud', 'ubuntu-24.04_amd64', 'a', '0day']) {
      assert.equal(validateAliasName(name), name);
    }
    assert.equal(aliasPath('debian/12'), 'debian/12');
  });

  it('refuse path tricks, odd characters, lengths and the history suffix', () => {
    for (const name of ['', '/debian', 'debian/', 'a//b', 'a/../b', 'a/./b', '..', '.hidden', 'dé', 'a b', 'a%2Fb', 'x'.repeat(129), 'debian/history', 42, null]) {
      assert.throws(() => validateAliasName(name), { code: 'INVALID_INPUT' }, String(name));
    }
  });
});
