import assert from 'node:assert/strict';
import { ImageNotFoundError, InvalidIdError, InvalidInputError, PreconditionFailedError } from '@lxchunk/errors';
import { isValidAliasName, type MetadataDb } from '../../src/db/index.js';
import { assertLxError, fp, newImage, useTempDb } from './helpers.js';

describe('AliasRepo', () => {
  const t = useTempDb();
  let db: MetadataDb;
  beforeEach(() => {
    db = t.open();
    for (let n = 1; n <= 6; n++) db.images.put(newImage(n));
  });

  it('creates with { absent: true }; a second create is 412 with details.current', () => {
    const start = t.clock.t;
    const { record, changed } = db.aliases.set('debian/12', fp(1), { absent: true }, 'Debian 12');
    assert.equal(changed, true);
    assert.deepEqual(record, { name: 'debian/12', target: fp(1), version: 1, updated: start, description: 'Debian 12' });
    assert.deepEqual(db.aliases.get('debian/12'), record);

    const err = assertLxError(() => db.aliases.set('debian/12', fp(2), { absent: true }), PreconditionFailedError, 'PRECONDITION_FAILED');
    assert.deepEqual(err.details, { current: { target: fp(1), version: 1 } });
    assert.equal(db.aliases.get('debian/12')?.target, fp(1));
  });

  it('moves with the right version, refuses a stale or missing one', () => {
    db.aliases.set('a', fp(1), { absent: true }, 'kept');
    t.clock.advance(1000);
    const moved = db.aliases.set('a', fp(2), { version: 1 });
    assert.equal(moved.changed, true);
    assert.deepEqual(moved.record, { name: 'a', target: fp(2), version: 2, updated: t.clock.t, description: 'kept' });

    const stale = assertLxError(() => db.aliases.set('a', fp(3), { version: 1 }), PreconditionFailedError, 'PRECONDITION_FAILED');
    assert.deepEqual(stale.details, { current: { target: fp(2), version: 2 } });
    const ahead = assertLxError(() => db.aliases.set('a', fp(3), { version: 7 }), PreconditionFailedError, 'PRECONDITION_FAILED');
    assert.deepEqual(ahead.details, { current: { target: fp(2), version: 2 } });
    const missing = assertLxError(() => db.aliases.set('nope', fp(3), { version: 1 }), PreconditionFailedError, 'PRECONDITION_FAILED');
    assert.deepEqual(missing.details, { current: null });
    assert.equal(db.aliases.get('nope'), undefined);
    assert.equal(db.aliases.get('a')?.version, 2);
  });

  it('setting the same target is a no-op: same version, no history or change rows', () => {
    const created = db.aliases.set('a', fp(1), { absent: true }).record;
    t.clock.advance(1000);
    const again = db.aliases.set('a', fp(1), { version: 1 });
    assert.equal(again.changed, false);
    assert.deepEqual(again.record, created);
    // A new description is taken, still without a version bump or a change.
    const described = db.aliases.set('a', fp(1), { version: 1 }, 'now described');
    assert.equal(described.changed, false);
    assert.deepEqual(described.record, { ...created, description: 'now described' });
    assert.equal(db.aliases.history('a').length, 1);
    assert.equal(db.aliases.latestSeq(), 1);
    // The precondition still applies to a no-op.
    assertLxError(() => db.aliases.set('a', fp(1), { version: 5 }), PreconditionFailedError, 'PRECONDITION_FAILED');
  });

  it('the target must be a stored image; names, ids and preconditions are validated', () => {
    const unknown = 'ab'.repeat(32);
    const err = assertLxError(() => db.aliases.set('a', unknown, { absent: true }), ImageNotFoundError, 'IMAGE_NOT_FOUND');
    assert.equal(err.fingerprint, unknown);
    assert.equal(db.aliases.get('a'), undefined);
    assert.equal(db.aliases.latestSeq(), 0);
    db.aliases.set('a', fp(1), { absent: true });
    assertLxError(() => db.aliases.set('a', unknown, { version: 1 }), ImageNotFoundError, 'IMAGE_NOT_FOUND');
    assert.equal(db.aliases.get('a')?.version, 1);

    assertLxError(() => db.aliases.set('a', 'not-hex', { version: 1 }), InvalidIdError, 'INVALID_ID');
    for (const bad of ['', '-x', 'a//b', 'a/', 'a/../b', '..', 'a b', 'x'.repeat(129), 'é', 'a/./b', 'a/.', 'x/history', 'debian/12/history']) {
      assert.equal(isValidAliasName(bad), false, bad);
      assertLxError(() => db.aliases.set(bad, fp(1), { absent: true }), InvalidInputError, 'INVALID_INPUT');
    }
    for (const good of ['a', 'debian/12/cloud', 'ubuntu/24.04', 'x'.repeat(128), '0_a-b.c', 'a/..b/c..']) {
      assert.equal(isValidAliasName(good), true, good);
    }
    assertLxError(() => db.aliases.set('a', fp(1), {} as never), InvalidInputError, 'INVALID_INPUT');
    assertLxError(() => db.aliases.set('a', fp(1), { version: 1.5 }), InvalidInputError, 'INVALID_INPUT');
  });

  it('delete with and without a version; history survives and a re-created alias continues its versions', () => {
    db.aliases.set('a', fp(1), { absent: true });
    db.aliases.set('a', fp(2), { version: 1 });
    const stale = assertLxError(() => db.aliases.delete('a', 1), PreconditionFailedError, 'PRECONDITION_FAILED');
    assert.deepEqual(stale.details, { current: { target: fp(2), version: 2 } });
    assert.equal(db.aliases.delete('a', 2), true);
    assert.equal(db.aliases.get('a'), undefined);
    assert.equal(db.aliases.delete('a'), false);
    const gone = assertLxError(() => db.aliases.delete('a', 2), PreconditionFailedError, 'PRECONDITION_FAILED');
    assert.deepEqual(gone.details, { current: null });

    db.aliases.set('b', fp(3), { absent: true });
    assert.equal(db.aliases.delete('b'), true);

    assert.deepEqual(
      db.aliases.history('a').map((h) => [h.target, h.version]),
      [
        [fp(2), 2],
        [fp(1), 1],
      ],
    );
    // Re-created: version 3, so an ETag from before the delete can never match the new alias.
    const again = db.aliases.set('a', fp(3), { absent: true });
    assert.equal(again.record.version, 3);
    assert.deepEqual(
      db.aliases.history('a').map((h) => h.version),
      [3, 2, 1],
    );
    const feed = db.aliases.changesSince(0).map((c) => [c.alias, c.target, c.version]);
    assert.deepEqual(feed, [
      ['a', fp(1), 1],
      ['a', fp(2), 2],
      ['a', null, 2],
      ['b', fp(3), 1],
      ['b', null, 1],
      ['a', fp(3), 3],
    ]);
  });

  it('history is newest first, limited, with times from the clock', () => {
    const times: number[] = [];
    db.aliases.set('a', fp(1), { absent: true });
    times.push(t.clock.t);
    for (let n = 2; n <= 5; n++) {
      times.push(t.clock.advance(60_000));
      db.aliases.set('a', fp(n), { version: n - 1 });
    }
    const history = db.aliases.history('a');
    assert.deepEqual(
      history,
      [5, 4, 3, 2, 1].map((n) => ({ target: fp(n), version: n, at: times[n - 1] })),
    );
    assert.deepEqual(
      db.aliases.history('a', 2).map((h) => h.version),
      [5, 4],
    );
    assert.deepEqual(db.aliases.history('unknown'), []);
    assertLxError(() => db.aliases.history('a', 0), InvalidInputError, 'INVALID_INPUT');
  });

  it('change feed: ascending seq, since/limit, latestSeq; list sorted by name', () => {
    assert.equal(db.aliases.latestSeq(), 0);
    assert.deepEqual(db.aliases.changesSince(0), []);
    db.aliases.set('zeta', fp(1), { absent: true });
    t.clock.advance(10);
    db.aliases.set('alpha', fp(2), { absent: true });
    t.clock.advance(10);
    db.aliases.set('zeta', fp(3), { version: 1 });
    db.aliases.set('zeta', fp(3), { version: 2 }); // no-op: no change row
    t.clock.advance(10);
    db.aliases.delete('alpha');

    const all = db.aliases.changesSince(0);
    assert.deepEqual(all, [
      { seq: 1, alias: 'zeta', target: fp(1), version: 1, at: t.clock.t - 30 },
      { seq: 2, alias: 'alpha', target: fp(2), version: 1, at: t.clock.t - 20 },
      { seq: 3, alias: 'zeta', target: fp(3), version: 2, at: t.clock.t - 10 },
      { seq: 4, alias: 'alpha', target: null, version: 1, at: t.clock.t },
    ]);
    assert.equal(db.aliases.latestSeq(), 4);
    assert.deepEqual(db.aliases.changesSince(2), all.slice(2));
    assert.deepEqual(db.aliases.changesSince(1, 2), all.slice(1, 3));
    assert.deepEqual(db.aliases.changesSince(4), []);
    assert.deepEqual(db.aliases.changesSince(-5, 1), all.slice(0, 1));

    db.aliases.set('mid', fp(4), { absent: true });
    assert.deepEqual(
      db.aliases.list().map((a) => [a.name, a.version]),
      [
        ['mid', 1],
        ['zeta', 2],
      ],
    );
    assert.equal(db.aliases.latestSeq(), 5);
  });

  describe('retentionCandidates', () => {
    it('keeps the current and the keep most recent targets of an alias with 4 images in its history', () => {
      for (let n = 1; n <= 4; n++) {
        if (n === 1) db.aliases.set('a', fp(1), { absent: true });
        else db.aliases.set('a', fp(n), { version: n - 1 });
      }
      // fp(5), fp(6): never aliased, never candidates.
      assert.deepEqual(db.aliases.retentionCandidates(1), [fp(1), fp(2), fp(3)]);
      assert.deepEqual(db.aliases.retentionCandidates(2), [fp(1), fp(2)]);
      assert.deepEqual(db.aliases.retentionCandidates(4), []);
      assert.deepEqual(db.aliases.retentionCandidates(0), [fp(1), fp(2), fp(3)]); // current target still protected

      // Going back to an older image makes it recent again (recency is per distinct target).
      db.aliases.set('a', fp(2), { version: 4 });
      assert.deepEqual(db.aliases.retentionCandidates(1), [fp(1), fp(3), fp(4)]);
      assert.deepEqual(db.aliases.retentionCandidates(2), [fp(1), fp(3)]);

      // Deleted images are not listed again.
      db.images.delete(fp(1));
      assert.deepEqual(db.aliases.retentionCandidates(2), [fp(3)]);
      assertLxError(() => db.aliases.retentionCandidates(-1), InvalidInputError, 'INVALID_INPUT');
    });

    it('an image shared by two aliases is kept while either keeps it', () => {
      // a: 1 -> 2 -> 3 ; b: 1 -> 4 -> 5
      db.aliases.set('a', fp(1), { absent: true });
      db.aliases.set('b', fp(1), { absent: true });
      db.aliases.set('a', fp(2), { version: 1 });
      db.aliases.set('a', fp(3), { version: 2 });
      db.aliases.set('b', fp(4), { version: 1 });
      // keep=2: a keeps {3, 2}, b keeps {4, 1}: fp(1) is old for a but recent for b.
      assert.deepEqual(db.aliases.retentionCandidates(2), []);
      assert.deepEqual(db.aliases.retentionCandidates(1), [fp(1), fp(2)]);
      db.aliases.set('b', fp(5), { version: 2 });
      // keep=2: a keeps {3, 2}, b keeps {5, 4}: fp(1) is old for both now.
      assert.deepEqual(db.aliases.retentionCandidates(2), [fp(1)]);
      // The current target of another alias is never a candidate.
      db.aliases.set('c', fp(1), { absent: true });
      assert.deepEqual(db.aliases.retentionCandidates(2), []);
      assert.deepEqual(db.aliases.retentionCandidates(1), [fp(2), fp(4)]);
      // A deleted alias's history still protects its most recent targets.
      db.aliases.delete('c');
      db.aliases.delete('b');
      // (fp(1): c's latest target; fp(5): b's.)
      assert.deepEqual(db.aliases.retentionCandidates(1), [fp(2), fp(4)]);
      assert.deepEqual(db.aliases.retentionCandidates(3), []);
    });
  });
});
