import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { useTempDb } from './helpers.js';

// The token semantics are in the metadata conformance suite; this looks at SQLite's files.
describe('TokenRepo (SQLite files)', () => {
  const t = useTempDb();

  it('stores only sha256(token): the token never appears in the database files', () => {
    const db = t.open();
    const tokens = [db.tokens.create({ name: 'ci', scopes: ['push'] }).token, db.tokens.create({ name: 'ops', scopes: ['admin'] }).token];
    db.tokens.revoke('ops');
    db.close();
    const files = readdirSync(t.dir).map((f) => readFileSync(join(t.dir, f)));
    const bytes = Buffer.concat(files);
    assert.ok(bytes.length > 0);
    for (const token of tokens) {
      assert.equal(bytes.includes(Buffer.from(token)), false, 'token stored in plain text');
      assert.equal(bytes.includes(Buffer.from(token.slice(4))), false, 'token body stored in plain text');
      assert.equal(bytes.includes(Buffer.from(token.slice(4), 'base64url')), false, 'token random bytes stored');
      // What is stored is the hash (proving the scan looks at the right bytes).
      assert.equal(bytes.includes(createHash('sha256').update(token).digest()), true, 'token hash not found');
    }
    const reopened = t.open();
    assert.equal(reopened.tokens.verify(tokens[0]!)?.name, 'ci');
    assert.equal(reopened.tokens.verify(tokens[1]!), undefined);
  });
});
