import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, InvalidInputError } from '@lxchunk/errors';
import { TOKEN_PATTERN, tokenHasScope } from '../../src/db/index.js';
import { assertLxError, useTempDb } from './helpers.js';

describe('TokenRepo', () => {
  const t = useTempDb();

  it('creates lxc_ tokens that verify to their id, name and scopes', () => {
    const db = t.open();
    const ci = db.tokens.create({ name: 'ci', scopes: ['push', 'read', 'push'] });
    const admin = db.tokens.create({ name: 'ops@host', scopes: ['admin'] });
    assert.match(ci.token, TOKEN_PATTERN);
    assert.equal(ci.token.length, 4 + 43);
    assert.notEqual(ci.token, admin.token);
    assert.notEqual(ci.id, admin.id);
    assert.deepEqual(db.tokens.verify(ci.token), { id: ci.id, name: 'ci', scopes: ['read', 'push'] });
    assert.deepEqual(db.tokens.verify(admin.token), { id: admin.id, name: 'ops@host', scopes: ['admin'] });
    assert.equal(tokenHasScope(['admin'], 'push'), true);
    assert.equal(tokenHasScope(['read'], 'push'), false);
  });

  it('unknown, malformed, revoked and expired tokens do not verify', () => {
    const db = t.open();
    const { id, token } = db.tokens.create({ name: 'ci', scopes: ['push'] });
    const expiring = db.tokens.create({ name: 'short', scopes: ['read'], expiresAt: t.clock.t + 3_600_000 });
    assert.equal(db.tokens.verify(`lxc_${'A'.repeat(43)}`), undefined);
    assert.equal(db.tokens.verify(''), undefined);
    assert.equal(db.tokens.verify(token.slice(0, -1)), undefined);
    assert.equal(db.tokens.verify(`${token} `), undefined);
    assert.equal(db.tokens.verify(token.toUpperCase()), undefined);

    assert.ok(db.tokens.verify(expiring.token));
    t.clock.advance(3_600_000 - 1);
    assert.ok(db.tokens.verify(expiring.token));
    t.clock.advance(1);
    assert.equal(db.tokens.verify(expiring.token), undefined);

    assert.equal(db.tokens.revoke(id), true);
    assert.equal(db.tokens.revoke(id), false);
    assert.equal(db.tokens.verify(token), undefined);
    assert.equal(db.tokens.revoke(9999), false);
    assert.equal(db.tokens.revoke('nobody'), false);
  });

  it('revokes by name; names are unique among live tokens and reusable once revoked or expired', () => {
    const db = t.open();
    const first = db.tokens.create({ name: 'ci', scopes: ['push'] });
    const err = assertLxError(() => db.tokens.create({ name: 'ci', scopes: ['read'] }), ConflictError, 'CONFLICT');
    assert.deepEqual(err.details, { name: 'ci' });
    assert.equal(db.tokens.revoke('ci'), true);
    assert.equal(db.tokens.verify(first.token), undefined);
    const second = db.tokens.create({ name: 'ci', scopes: ['read'] });
    assert.deepEqual(db.tokens.verify(second.token)?.scopes, ['read']);

    db.tokens.create({ name: 'temp', scopes: ['read'], expiresAt: t.clock.t + 1000 });
    assertLxError(() => db.tokens.create({ name: 'temp', scopes: ['read'] }), ConflictError, 'CONFLICT');
    t.clock.advance(1000);
    const renewed = db.tokens.create({ name: 'temp', scopes: ['read'] });
    assert.equal(db.tokens.verify(renewed.token)?.name, 'temp');
  });

  it('validates names, scopes and expiry', () => {
    const db = t.open();
    const bad: Array<Parameters<typeof db.tokens.create>[0]> = [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['write' as never] },
      { name: 'x', scopes: ['read', 'root' as never] },
      { name: 'x', scopes: 'read' as never },
      { name: '', scopes: ['read'] },
      { name: '42', scopes: ['read'] }, // would be ambiguous with an id
      { name: 'has space', scopes: ['read'] },
      { name: 'n'.repeat(65), scopes: ['read'] },
      { name: 'x', scopes: ['read'], expiresAt: t.clock.t },
      { name: 'x', scopes: ['read'], expiresAt: 1.5 },
    ];
    for (const input of bad) assertLxError(() => db.tokens.create(input), InvalidInputError, 'INVALID_INPUT');
    assert.deepEqual(db.tokens.list(), []);
  });

  it('list shows metadata, never the token or its hash; lastUsedAt is written at most once a minute', () => {
    const db = t.open();
    const created = t.clock.t;
    const a = db.tokens.create({ name: 'a', scopes: ['read'], expiresAt: created + 86_400_000 });
    const b = db.tokens.create({ name: 'b', scopes: ['admin', 'push'] });
    assert.deepEqual(db.tokens.list(), [
      { id: a.id, name: 'a', scopes: ['read'], createdAt: created, lastUsedAt: null, expiresAt: created + 86_400_000, revokedAt: null },
      { id: b.id, name: 'b', scopes: ['push', 'admin'], createdAt: created, lastUsedAt: null, expiresAt: null, revokedAt: null },
    ]);
    assert.ok(!JSON.stringify(db.tokens.list()).includes(a.token.slice(4)));

    const lastUsed = () => db.tokens.list().find((x) => x.id === a.id)?.lastUsedAt;
    t.clock.advance(1000);
    db.tokens.verify(a.token);
    assert.equal(lastUsed(), created + 1000);
    t.clock.advance(59_000);
    db.tokens.verify(a.token); // 59 s later: not written
    assert.equal(lastUsed(), created + 1000);
    t.clock.advance(1000);
    db.tokens.verify(a.token); // 60 s after the last write
    assert.equal(lastUsed(), created + 61_000);

    t.clock.advance(5);
    db.tokens.revoke('b');
    assert.equal(db.tokens.list().find((x) => x.id === b.id)?.revokedAt, created + 61_005);
  });

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
