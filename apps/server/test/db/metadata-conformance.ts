import assert from 'node:assert/strict';
import { ConflictError, ImageInUseError, ImageNotFoundError, InvalidIdError, InvalidInputError, PreconditionFailedError } from '@lxchunk/errors';
import { TOKEN_PATTERN, isValidAliasName, tokenHasScope } from '../../src/db/index.js';
import type { MetadataStore } from '../../src/db/metadata-store.js';
import { assertLxRejects, chunk, fp, newImage } from './helpers.js';
import { useMetadataStores, type MetadataFactory } from './metadata-stores.js';

/**
 * The semantics every MetadataStore implementation must have (those of the SQLite repositories),
 * run against `factory`'s stores: a fresh database per test.
 */
export function describeMetadataConformance(name: string, factory: MetadataFactory): void {
  describe(`metadata conformance: ${name}`, () => {
    const t = useMetadataStores(factory);

    describe('images', () => {

    it('put stores an image and get returns every field, manifest bytes exact', async () => {
      const db = await t.open();
      const manifest = Buffer.from([0x7b, 0x00, 0xff, 0x10, 0x7d]); // arbitrary bytes survive as is
      const image = newImage(1, { manifest, public: true, chunkIds: [chunk(1), chunk(2), chunk(1), chunk(3), chunk(2)] });
      assert.equal(await db.images.put(image), 'created');
      const stored = await db.images.get(fp(1));
      assert.ok(stored);
      assert.deepEqual(stored.manifest, manifest);
      assert.deepEqual(
        { ...stored, manifest: undefined },
        {
          fingerprint: fp(1),
          type: 'container',
          architecture: 'x86_64',
          created: '2027-01-01T00:00:00Z',
          public: true,
          properties: { os: 'debian', release: 'bookworm' },
          size: 1001,
          chunkCount: 3,
          pushedAt: t.clock.t,
          manifest: undefined,
          chunkIds: [chunk(1), chunk(2), chunk(3)].sort(),
        },
      );
      assert.equal(await db.images.has(fp(1)), true);
      assert.equal(await db.images.has(fp(2)), false);
      assert.equal(await db.images.get(fp(2)), undefined);
      assert.equal(await db.images.isPublic(fp(1)), true);
      assert.equal(await db.images.isPublic(fp(2)), undefined);
      assert.deepEqual(await db.images.manifest(fp(1)), { manifest, public: true });
      assert.equal(await db.images.manifest(fp(2)), undefined);
      assert.equal((await db.images.summary(fp(1)))?.chunkCount, 3);
      assert.equal(await db.images.referencedCount(), 3);
    });

    it('the same manifest again is "exists" and changes nothing; different bytes are a ConflictError', async () => {
      const db = await t.open();
      assert.equal(await db.images.put(newImage(1)), 'created');
      const pushedAt = t.clock.t;
      t.clock.advance(5000);
      assert.equal(await db.images.put(newImage(1)), 'exists');
      assert.equal((await db.images.get(fp(1)))?.pushedAt, pushedAt);
      const err = await assertLxRejects(() => db.images.put(newImage(1, { manifest: Buffer.from('other bytes') })), ConflictError, 'CONFLICT');
      assert.deepEqual(err.details, { fingerprint: fp(1) });
      assert.deepEqual((await db.images.get(fp(1)))?.manifest, newImage(1).manifest);
    });

    it('rejects malformed ids and fields before touching the database', async () => {
      const db = await t.open();
      await assertLxRejects(() => db.images.put(newImage(1, { fingerprint: 'ABC' })), InvalidIdError, 'INVALID_ID');
      await assertLxRejects(() => db.images.put(newImage(1, { chunkIds: [chunk(1), 'zz'.repeat(32)] })), InvalidIdError, 'INVALID_ID');
      await assertLxRejects(() => db.images.put(newImage(1, { type: 'vm' as never })), InvalidInputError, 'INVALID_INPUT');
      await assertLxRejects(() => db.images.put(newImage(1, { size: -1 })), InvalidInputError, 'INVALID_INPUT');
      await assertLxRejects(() => db.images.put(newImage(1, { properties: { a: 1 } as never })), InvalidInputError, 'INVALID_INPUT');
      await assertLxRejects(() => db.images.get(fp(1).toUpperCase()), InvalidIdError, 'INVALID_ID');
      await assertLxRejects(() => db.images.chunkAccess('00'), InvalidIdError, 'INVALID_ID');
      assert.equal(await db.images.has(fp(1)), false);
      assert.equal(await db.images.referencedCount(), 0);
    });

    it('list filters by alias, architecture, properties and visibility, newest first, with alias names', async () => {
      const db = await t.open();
      await db.images.put(newImage(1, { public: true }));
      t.clock.advance(1000);
      await db.images.put(newImage(2, { architecture: 'aarch64', properties: { os: 'debian', release: 'trixie' } }));
      t.clock.advance(1000);
      const oddProperties = { os: 'ubuntu', release: 'noble', 'key.with "odd" chars': 'v' };
      await db.images.put(newImage(3, { public: true, type: 'virtual-machine', properties: oddProperties }));
      await db.aliases.set('debian/12', fp(1), { absent: true });
      await db.aliases.set('default', fp(1), { absent: true });
      await db.aliases.set('ubuntu/24.04/vm', fp(3), { absent: true });

      const all = await db.images.list({ publicOnly: false });
      assert.deepEqual(
        all.map((s) => s.fingerprint),
        [fp(3), fp(2), fp(1)],
      );
      const first = all[2]!;
      assert.deepEqual(first, {
        fingerprint: fp(1),
        type: 'container',
        architecture: 'x86_64',
        created: '2027-01-01T00:00:00Z',
        public: true,
        properties: { os: 'debian', release: 'bookworm' },
        size: 1001,
        chunkCount: 2,
        pushedAt: t.clock.t - 2000,
        aliases: ['debian/12', 'default'],
      });
      assert.ok(!('manifest' in first) && !('chunkIds' in first));
      assert.deepEqual(all[1]!.aliases, []);

      const fps = async (filter: Parameters<typeof db.images.list>[0]) => (await db.images.list(filter)).map((s) => s.fingerprint);
      assert.deepEqual(await fps({ publicOnly: true }), [fp(3), fp(1)]);
      assert.deepEqual(await fps({ publicOnly: false, architecture: 'aarch64' }), [fp(2)]);
      assert.deepEqual(await fps({ publicOnly: true, architecture: 'aarch64' }), []);
      assert.deepEqual(await fps({ publicOnly: false, alias: 'default' }), [fp(1)]);
      assert.deepEqual(await fps({ publicOnly: false, alias: 'missing' }), []);
      assert.deepEqual(await fps({ publicOnly: false, properties: { os: 'debian' } }), [fp(2), fp(1)]);
      assert.deepEqual(await fps({ publicOnly: false, properties: { os: 'debian', release: 'bookworm' } }), [fp(1)]);
      assert.deepEqual(await fps({ publicOnly: false, properties: { 'key.with "odd" chars': 'v' } }), [fp(3)]);
      assert.deepEqual(await fps({ publicOnly: false, properties: { toString: 'x' } }), []);
      assert.deepEqual(await fps({ publicOnly: false, alias: 'debian/12', properties: { os: 'ubuntu' } }), []);
    });

    it('delete removes the image and its chunk references, refuses while an alias targets it', async () => {
      const db = await t.open();
      await db.images.put(newImage(1, { chunkIds: [chunk(1), chunk(2)] }));
      await db.images.put(newImage(2, { chunkIds: [chunk(2), chunk(3)] }));
      await db.aliases.set('a', fp(1), { absent: true });
      await db.aliases.set('b', fp(1), { absent: true });

      const err = await assertLxRejects(() => db.images.delete(fp(1)), ImageInUseError, 'IMAGE_IN_USE');
      assert.deepEqual(err.details, { aliases: ['a', 'b'] });
      assert.equal(await db.images.has(fp(1)), true);

      await db.aliases.set('a', fp(2), { version: 1 });
      await db.aliases.delete('b');
      assert.equal(await db.images.delete(fp(1)), true);
      assert.equal(await db.images.delete(fp(1)), false);
      assert.equal(await db.images.get(fp(1)), undefined);
      assert.equal(await db.images.isReferenced(chunk(1)), false);
      assert.equal(await db.images.isReferenced(chunk(2)), true);
      assert.equal(await db.images.isReferenced(chunk(3)), true);
      assert.equal(await db.images.referencedCount(), 2);
      assert.deepEqual(await db.images.referencingImages(chunk(2)), [fp(2)]);
      // History outlives the image.
      assert.deepEqual(
        (await db.aliases.history('a')).map((h) => h.target),
        [fp(2), fp(1)],
      );
      // The same fingerprint can be pushed again after deletion.
      assert.equal(await db.images.put(newImage(1, { chunkIds: [chunk(1)] })), 'created');
      assert.equal(await db.images.isReferenced(chunk(1)), true);
    });

    it('chunkAccess follows the images that reference a chunk as they come and go', async () => {
      const db = await t.open();
      const shared = chunk(100);
      assert.equal(await db.images.chunkAccess(shared), 'none');

      await db.images.put(newImage(1, { public: false, chunkIds: [shared, chunk(1)] }));
      assert.equal(await db.images.chunkAccess(shared), 'private');
      assert.equal(await db.images.chunkAccess(chunk(1)), 'private');

      await db.images.put(newImage(2, { public: true, chunkIds: [shared, chunk(2)] }));
      assert.equal(await db.images.chunkAccess(shared), 'public');
      assert.equal(await db.images.chunkAccess(chunk(1)), 'private');
      assert.equal(await db.images.chunkAccess(chunk(2)), 'public');
      assert.deepEqual((await db.images.referencingImages(shared)).sort(), [fp(1), fp(2)].sort());

      await db.images.put(newImage(3, { public: false, chunkIds: [shared] }));
      assert.equal(await db.images.chunkAccess(shared), 'public');

      assert.equal(await db.images.delete(fp(2)), true);
      assert.equal(await db.images.chunkAccess(shared), 'private');
      assert.equal(await db.images.chunkAccess(chunk(2)), 'none');

      await db.images.delete(fp(1));
      assert.equal(await db.images.chunkAccess(shared), 'private'); // still image 3
      await db.images.delete(fp(3));
      assert.equal(await db.images.chunkAccess(shared), 'none');
      assert.equal(await db.images.referencedCount(), 0);
    });

    it('stores an image of 100k chunk ids (with duplicates) in one transaction, quickly', async () => {
      const db = await t.open();
      const ids: string[] = [];
      for (let i = 0; i < 100_000; i++) ids.push((i % 90_000).toString(16).padStart(64, '0'));
      const started = performance.now();
      assert.equal(await db.images.put(newImage(1, { public: true, chunkIds: ids })), 'created');
      const putMs = performance.now() - started;
      assert.equal(await db.images.referencedCount(), 90_000);
      assert.equal((await db.images.summary(fp(1)))?.chunkCount, 90_000);
      assert.equal(await db.images.chunkAccess(ids[89_999]!), 'public');
      assert.equal(await db.images.chunkAccess((90_000).toString(16).padStart(64, '0')), 'none');

      // A second image sharing half of them.
      assert.equal(await db.images.put(newImage(2, { chunkIds: ids.slice(0, 45_000) })), 'created');
      assert.equal(await db.images.referencedCount(), 90_000);
      const stored = await db.images.get(fp(2));
      assert.equal(stored?.chunkIds.length, 45_000);
      assert.equal(stored?.chunkIds[0], ids[0]);

      assert.equal(await db.images.delete(fp(1)), true);
      assert.equal(await db.images.referencedCount(), 45_000);
      assert.equal(await db.images.chunkAccess(ids[0]!), 'private');
      assert.equal(await db.images.chunkAccess(ids[89_999]!), 'none');
      // Not a timing assertion (CI machines vary); reported for whoever reads the log.
      if (process.env.LXCHUNK_DB_TIMING) console.log(`put of 100k chunk ids: ${putMs.toFixed(0)} ms`);
    });
    });

    describe('aliases', () => {
    let db: MetadataStore;
    beforeEach(async () => {
      db = await t.open();
      for (let n = 1; n <= 6; n++) await db.images.put(newImage(n));
    });

    it('creates with { absent: true }; a second create is 412 with details.current', async () => {
      const start = t.clock.t;
      const { record, changed } = await db.aliases.set('debian/12', fp(1), { absent: true }, 'Debian 12');
      assert.equal(changed, true);
      assert.deepEqual(record, { name: 'debian/12', target: fp(1), version: 1, updated: start, description: 'Debian 12' });
      assert.deepEqual(await db.aliases.get('debian/12'), record);

      const err = await assertLxRejects(() => db.aliases.set('debian/12', fp(2), { absent: true }), PreconditionFailedError, 'PRECONDITION_FAILED');
      assert.deepEqual(err.details, { current: { target: fp(1), version: 1 } });
      assert.equal((await db.aliases.get('debian/12'))?.target, fp(1));
    });

    it('moves with the right version, refuses a stale or missing one', async () => {
      await db.aliases.set('a', fp(1), { absent: true }, 'kept');
      t.clock.advance(1000);
      const moved = await db.aliases.set('a', fp(2), { version: 1 });
      assert.equal(moved.changed, true);
      assert.deepEqual(moved.record, { name: 'a', target: fp(2), version: 2, updated: t.clock.t, description: 'kept' });

      const stale = await assertLxRejects(() => db.aliases.set('a', fp(3), { version: 1 }), PreconditionFailedError, 'PRECONDITION_FAILED');
      assert.deepEqual(stale.details, { current: { target: fp(2), version: 2 } });
      const ahead = await assertLxRejects(() => db.aliases.set('a', fp(3), { version: 7 }), PreconditionFailedError, 'PRECONDITION_FAILED');
      assert.deepEqual(ahead.details, { current: { target: fp(2), version: 2 } });
      const missing = await assertLxRejects(() => db.aliases.set('nope', fp(3), { version: 1 }), PreconditionFailedError, 'PRECONDITION_FAILED');
      assert.deepEqual(missing.details, { current: null });
      assert.equal(await db.aliases.get('nope'), undefined);
      assert.equal((await db.aliases.get('a'))?.version, 2);
    });

    it('setting the same target is a no-op: same version, no history or change rows', async () => {
      const created = (await db.aliases.set('a', fp(1), { absent: true })).record;
      t.clock.advance(1000);
      const again = await db.aliases.set('a', fp(1), { version: 1 });
      assert.equal(again.changed, false);
      assert.deepEqual(again.record, created);
      // A new description is taken, still without a version bump or a change.
      const described = await db.aliases.set('a', fp(1), { version: 1 }, 'now described');
      assert.equal(described.changed, false);
      assert.deepEqual(described.record, { ...created, description: 'now described' });
      assert.equal((await db.aliases.history('a')).length, 1);
      assert.equal(await db.aliases.latestSeq(), 1);
      // The precondition still applies to a no-op.
      await assertLxRejects(() => db.aliases.set('a', fp(1), { version: 5 }), PreconditionFailedError, 'PRECONDITION_FAILED');
    });

    it('the target must be a stored image; names, ids and preconditions are validated', async () => {
      const unknown = 'ab'.repeat(32);
      const err = await assertLxRejects(() => db.aliases.set('a', unknown, { absent: true }), ImageNotFoundError, 'IMAGE_NOT_FOUND');
      assert.equal(err.fingerprint, unknown);
      assert.equal(await db.aliases.get('a'), undefined);
      assert.equal(await db.aliases.latestSeq(), 0);
      await db.aliases.set('a', fp(1), { absent: true });
      await assertLxRejects(() => db.aliases.set('a', unknown, { version: 1 }), ImageNotFoundError, 'IMAGE_NOT_FOUND');
      assert.equal((await db.aliases.get('a'))?.version, 1);

      await assertLxRejects(() => db.aliases.set('a', 'not-hex', { version: 1 }), InvalidIdError, 'INVALID_ID');
      for (const bad of ['', '-x', 'a//b', 'a/', 'a/../b', '..', 'a b', 'x'.repeat(129), 'é', 'a/./b', 'a/.', 'x/history', 'debian/12/history']) {
        assert.equal(isValidAliasName(bad), false, bad);
        await assertLxRejects(() => db.aliases.set(bad, fp(1), { absent: true }), InvalidInputError, 'INVALID_INPUT');
      }
      for (const good of ['a', 'debian/12/cloud', 'ubuntu/24.04', 'x'.repeat(128), '0_a-b.c', 'a/..b/c..']) {
        assert.equal(isValidAliasName(good), true, good);
      }
      await assertLxRejects(() => db.aliases.set('a', fp(1), {} as never), InvalidInputError, 'INVALID_INPUT');
      await assertLxRejects(() => db.aliases.set('a', fp(1), { version: 1.5 }), InvalidInputError, 'INVALID_INPUT');
    });

    it('delete with and without a version; history survives and a re-created alias continues its versions', async () => {
      await db.aliases.set('a', fp(1), { absent: true });
      await db.aliases.set('a', fp(2), { version: 1 });
      const stale = await assertLxRejects(() => db.aliases.delete('a', 1), PreconditionFailedError, 'PRECONDITION_FAILED');
      assert.deepEqual(stale.details, { current: { target: fp(2), version: 2 } });
      assert.equal(await db.aliases.delete('a', 2), true);
      assert.equal(await db.aliases.get('a'), undefined);
      assert.equal(await db.aliases.delete('a'), false);
      const gone = await assertLxRejects(() => db.aliases.delete('a', 2), PreconditionFailedError, 'PRECONDITION_FAILED');
      assert.deepEqual(gone.details, { current: null });

      await db.aliases.set('b', fp(3), { absent: true });
      assert.equal(await db.aliases.delete('b'), true);

      assert.deepEqual(
        (await db.aliases.history('a')).map((h) => [h.target, h.version]),
        [
          [fp(2), 2],
          [fp(1), 1],
        ],
      );
      // Re-created: version 3, so an ETag from before the delete can never match the new alias.
      const again = await db.aliases.set('a', fp(3), { absent: true });
      assert.equal(again.record.version, 3);
      assert.deepEqual(
        (await db.aliases.history('a')).map((h) => h.version),
        [3, 2, 1],
      );
      const feed = (await db.aliases.changesSince(0)).map((c) => [c.alias, c.target, c.version]);
      assert.deepEqual(feed, [
        ['a', fp(1), 1],
        ['a', fp(2), 2],
        ['a', null, 2],
        ['b', fp(3), 1],
        ['b', null, 1],
        ['a', fp(3), 3],
      ]);
    });

    it('history is newest first, limited, with times from the clock', async () => {
      const times: number[] = [];
      await db.aliases.set('a', fp(1), { absent: true });
      times.push(t.clock.t);
      for (let n = 2; n <= 5; n++) {
        times.push(t.clock.advance(60_000));
        await db.aliases.set('a', fp(n), { version: n - 1 });
      }
      const history = await db.aliases.history('a');
      assert.deepEqual(
        history,
        [5, 4, 3, 2, 1].map((n) => ({ target: fp(n), version: n, at: times[n - 1] })),
      );
      assert.deepEqual(
        (await db.aliases.history('a', 2)).map((h) => h.version),
        [5, 4],
      );
      assert.deepEqual(await db.aliases.history('unknown'), []);
      await assertLxRejects(() => db.aliases.history('a', 0), InvalidInputError, 'INVALID_INPUT');
    });

    it('change feed: ascending seq, since/limit, latestSeq; list sorted by name', async () => {
      assert.equal(await db.aliases.latestSeq(), 0);
      assert.deepEqual(await db.aliases.changesSince(0), []);
      await db.aliases.set('zeta', fp(1), { absent: true });
      t.clock.advance(10);
      await db.aliases.set('alpha', fp(2), { absent: true });
      t.clock.advance(10);
      await db.aliases.set('zeta', fp(3), { version: 1 });
      await db.aliases.set('zeta', fp(3), { version: 2 }); // no-op: no change row
      t.clock.advance(10);
      await db.aliases.delete('alpha');

      const all = await db.aliases.changesSince(0);
      assert.deepEqual(all, [
        { seq: 1, alias: 'zeta', target: fp(1), version: 1, at: t.clock.t - 30 },
        { seq: 2, alias: 'alpha', target: fp(2), version: 1, at: t.clock.t - 20 },
        { seq: 3, alias: 'zeta', target: fp(3), version: 2, at: t.clock.t - 10 },
        { seq: 4, alias: 'alpha', target: null, version: 1, at: t.clock.t },
      ]);
      assert.equal(await db.aliases.latestSeq(), 4);
      assert.deepEqual(await db.aliases.changesSince(2), all.slice(2));
      assert.deepEqual(await db.aliases.changesSince(1, 2), all.slice(1, 3));
      assert.deepEqual(await db.aliases.changesSince(4), []);
      assert.deepEqual(await db.aliases.changesSince(-5, 1), all.slice(0, 1));

      await db.aliases.set('mid', fp(4), { absent: true });
      assert.deepEqual(
        (await db.aliases.list()).map((a) => [a.name, a.version]),
        [
          ['mid', 1],
          ['zeta', 2],
        ],
      );
      assert.equal(await db.aliases.latestSeq(), 5);
    });

    describe('retentionCandidates', () => {
      it('keeps the current and the keep most recent targets of an alias with 4 images in its history', async () => {
        for (let n = 1; n <= 4; n++) {
          if (n === 1) await db.aliases.set('a', fp(1), { absent: true });
          else await db.aliases.set('a', fp(n), { version: n - 1 });
        }
        // fp(5), fp(6): never aliased, never candidates.
        assert.deepEqual(await db.aliases.retentionCandidates(1), [fp(1), fp(2), fp(3)]);
        assert.deepEqual(await db.aliases.retentionCandidates(2), [fp(1), fp(2)]);
        assert.deepEqual(await db.aliases.retentionCandidates(4), []);
        assert.deepEqual(await db.aliases.retentionCandidates(0), [fp(1), fp(2), fp(3)]); // current target still protected

        // Going back to an older image makes it recent again (recency is per distinct target).
        await db.aliases.set('a', fp(2), { version: 4 });
        assert.deepEqual(await db.aliases.retentionCandidates(1), [fp(1), fp(3), fp(4)]);
        assert.deepEqual(await db.aliases.retentionCandidates(2), [fp(1), fp(3)]);

        // Deleted images are not listed again.
        await db.images.delete(fp(1));
        assert.deepEqual(await db.aliases.retentionCandidates(2), [fp(3)]);
        await assertLxRejects(() => db.aliases.retentionCandidates(-1), InvalidInputError, 'INVALID_INPUT');
      });

      it('an image shared by two aliases is kept while either keeps it', async () => {
        // a: 1 -> 2 -> 3 ; b: 1 -> 4 -> 5
        await db.aliases.set('a', fp(1), { absent: true });
        await db.aliases.set('b', fp(1), { absent: true });
        await db.aliases.set('a', fp(2), { version: 1 });
        await db.aliases.set('a', fp(3), { version: 2 });
        await db.aliases.set('b', fp(4), { version: 1 });
        // keep=2: a keeps {3, 2}, b keeps {4, 1}: fp(1) is old for a but recent for b.
        assert.deepEqual(await db.aliases.retentionCandidates(2), []);
        assert.deepEqual(await db.aliases.retentionCandidates(1), [fp(1), fp(2)]);
        await db.aliases.set('b', fp(5), { version: 2 });
        // keep=2: a keeps {3, 2}, b keeps {5, 4}: fp(1) is old for both now.
        assert.deepEqual(await db.aliases.retentionCandidates(2), [fp(1)]);
        // The current target of another alias is never a candidate.
        await db.aliases.set('c', fp(1), { absent: true });
        assert.deepEqual(await db.aliases.retentionCandidates(2), []);
        assert.deepEqual(await db.aliases.retentionCandidates(1), [fp(2), fp(4)]);
        // A deleted alias's history still protects its most recent targets.
        await db.aliases.delete('c');
        await db.aliases.delete('b');
        // (fp(1): c's latest target; fp(5): b's.)
        assert.deepEqual(await db.aliases.retentionCandidates(1), [fp(2), fp(4)]);
        assert.deepEqual(await db.aliases.retentionCandidates(3), []);
      });
    });
    });

    describe('tokens', () => {

    it('creates lxc_ tokens that verify to their id, name and scopes', async () => {
      const db = await t.open();
      const ci = await db.tokens.create({ name: 'ci', scopes: ['push', 'read', 'push'] });
      const admin = await db.tokens.create({ name: 'ops@host', scopes: ['admin'] });
      assert.match(ci.token, TOKEN_PATTERN);
      assert.equal(ci.token.length, 4 + 43);
      assert.notEqual(ci.token, admin.token);
      assert.notEqual(ci.id, admin.id);
      assert.deepEqual(await db.tokens.verify(ci.token), { id: ci.id, name: 'ci', scopes: ['read', 'push'] });
      assert.deepEqual(await db.tokens.verify(admin.token), { id: admin.id, name: 'ops@host', scopes: ['admin'] });
      assert.equal(tokenHasScope(['admin'], 'push'), true);
      assert.equal(tokenHasScope(['read'], 'push'), false);
    });

    it('unknown, malformed, revoked and expired tokens do not verify', async () => {
      const db = await t.open();
      const { id, token } = await db.tokens.create({ name: 'ci', scopes: ['push'] });
      const expiring = await db.tokens.create({ name: 'short', scopes: ['read'], expiresAt: t.clock.t + 3_600_000 });
      assert.equal(await db.tokens.verify(`lxc_${'A'.repeat(43)}`), undefined);
      assert.equal(await db.tokens.verify(''), undefined);
      assert.equal(await db.tokens.verify(token.slice(0, -1)), undefined);
      assert.equal(await db.tokens.verify(`${token} `), undefined);
      assert.equal(await db.tokens.verify(token.toUpperCase()), undefined);

      assert.ok(await db.tokens.verify(expiring.token));
      t.clock.advance(3_600_000 - 1);
      assert.ok(await db.tokens.verify(expiring.token));
      t.clock.advance(1);
      assert.equal(await db.tokens.verify(expiring.token), undefined);

      assert.equal(await db.tokens.revoke(id), true);
      assert.equal(await db.tokens.revoke(id), false);
      assert.equal(await db.tokens.verify(token), undefined);
      assert.equal(await db.tokens.revoke(9999), false);
      assert.equal(await db.tokens.revoke('nobody'), false);
    });

    it('revokes by name; names are unique among live tokens and reusable once revoked or expired', async () => {
      const db = await t.open();
      const first = await db.tokens.create({ name: 'ci', scopes: ['push'] });
      const err = await assertLxRejects(() => db.tokens.create({ name: 'ci', scopes: ['read'] }), ConflictError, 'CONFLICT');
      assert.deepEqual(err.details, { name: 'ci' });
      assert.equal(await db.tokens.revoke('ci'), true);
      assert.equal(await db.tokens.verify(first.token), undefined);
      const second = await db.tokens.create({ name: 'ci', scopes: ['read'] });
      assert.deepEqual((await db.tokens.verify(second.token))?.scopes, ['read']);

      await db.tokens.create({ name: 'temp', scopes: ['read'], expiresAt: t.clock.t + 1000 });
      await assertLxRejects(() => db.tokens.create({ name: 'temp', scopes: ['read'] }), ConflictError, 'CONFLICT');
      t.clock.advance(1000);
      const renewed = await db.tokens.create({ name: 'temp', scopes: ['read'] });
      assert.equal((await db.tokens.verify(renewed.token))?.name, 'temp');
    });

    it('validates names, scopes and expiry', async () => {
      const db = await t.open();
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
      for (const input of bad) await assertLxRejects(() => db.tokens.create(input), InvalidInputError, 'INVALID_INPUT');
      assert.deepEqual(await db.tokens.list(), []);
    });

    it('list shows metadata, never the token or its hash; lastUsedAt is written at most once a minute', async () => {
      const db = await t.open();
      const created = t.clock.t;
      const a = await db.tokens.create({ name: 'a', scopes: ['read'], expiresAt: created + 86_400_000 });
      const b = await db.tokens.create({ name: 'b', scopes: ['admin', 'push'] });
      assert.deepEqual(await db.tokens.list(), [
        { id: a.id, name: 'a', scopes: ['read'], createdAt: created, lastUsedAt: null, expiresAt: created + 86_400_000, revokedAt: null },
        { id: b.id, name: 'b', scopes: ['push', 'admin'], createdAt: created, lastUsedAt: null, expiresAt: null, revokedAt: null },
      ]);
      assert.ok(!JSON.stringify(await db.tokens.list()).includes(a.token.slice(4)));

      const lastUsed = async () => (await db.tokens.list()).find((x) => x.id === a.id)?.lastUsedAt;
      t.clock.advance(1000);
      await db.tokens.verify(a.token);
      assert.equal(await lastUsed(), created + 1000);
      t.clock.advance(59_000);
      await db.tokens.verify(a.token); // 59 s later: not written
      assert.equal(await lastUsed(), created + 1000);
      t.clock.advance(1000);
      await db.tokens.verify(a.token); // 60 s after the last write
      assert.equal(await lastUsed(), created + 61_000);

      t.clock.advance(5);
      await db.tokens.revoke('b');
      assert.equal((await db.tokens.list()).find((x) => x.id === b.id)?.revokedAt, created + 61_005);
    });
    });

    describe('leases', () => {

    it('renew takes the later of the old and new end; isLeased is true while until > now', async () => {
      const db = await t.open();
      const now = t.clock.t;
      await db.leases.renew([chunk(1), chunk(2), chunk(1)], now + 1000, now);
      assert.equal(await db.leases.isLeased(chunk(1), now), true);
      assert.equal(await db.leases.isLeased(chunk(1), now + 999), true);
      assert.equal(await db.leases.isLeased(chunk(1), now + 1000), false);
      assert.equal(await db.leases.isLeased(chunk(3), now), false);

      await db.leases.renew([chunk(1)], now + 5000, now);
      await db.leases.renew([chunk(1), chunk(2)], now + 500, now); // shorter: no effect
      assert.equal(await db.leases.isLeased(chunk(1), now + 4999), true);
      assert.equal(await db.leases.isLeased(chunk(2), now + 999), true);
      assert.deepEqual(await db.leases.leasedIds(now + 1000), new Set([chunk(1)]));
      assert.deepEqual(await db.leases.leasedIds(now), new Set([chunk(1), chunk(2)]));
      await db.leases.renew([], now + 10_000, now);
    });

    it('expire deletes ended leases and returns how many', async () => {
      const db = await t.open();
      const now = t.clock.t;
      await db.leases.renew([chunk(1), chunk(2)], now + 1000, now);
      await db.leases.renew([chunk(3)], now + 2000, now);
      assert.equal(await db.leases.expire(now), 0);
      assert.equal(await db.leases.expire(now + 1000), 2);
      assert.equal(await db.leases.expire(now + 1000), 0);
      assert.deepEqual(await db.leases.leasedIds(now), new Set([chunk(3)]));
      // Renewing after expiry starts a new lease.
      await db.leases.renew([chunk(1)], now + 3000, now);
      assert.equal(await db.leases.isLeased(chunk(1), now + 2500), true);
      assert.equal(await db.leases.expire(now + 5000), 2);
      assert.deepEqual(await db.leases.leasedIds(0), new Set());
    });

    it('renews 100k ids in one call and lists them back', async () => {
      const db = await t.open();
      const ids = Array.from({ length: 100_000 }, (_, i) => i.toString(16).padStart(64, '0'));
      const now = t.clock.t;
      await db.leases.renew(ids, now + 1000, now);
      await db.leases.renew(ids, now + 2000, now);
      const leased = await db.leases.leasedIds(now + 1500);
      assert.equal(leased.size, 100_000);
      assert.ok(leased.has(ids[99_999]!));
      assert.equal(await db.leases.expire(now + 2000), 100_000);
    });

    it('validates ids and times, leaving nothing half-written', async () => {
      const db = await t.open();
      await assertLxRejects(() => db.leases.renew([chunk(1), 'nope'], t.clock.t + 1, t.clock.t), InvalidIdError, 'INVALID_ID');
      await assertLxRejects(() => db.leases.renew([chunk(1)], Number.NaN, t.clock.t), InvalidInputError, 'INVALID_INPUT');
      assert.equal(await db.leases.isLeased(chunk(1), 0), false);
    });

      it('claim takes only chunks without a live lease or claim; a renewal after a claim reports it claimed', async () => {
        const db = await t.open();
        const now = t.clock.t;
        await db.leases.renew([chunk(1)], now + 1000, now);
        // chunk(1): leased; chunk(2): an ended lease; chunk(3): no row at all.
        await db.leases.renew([chunk(2)], now - 1, now - 1000);
        assert.deepEqual(await db.leases.claim([chunk(3), chunk(1), chunk(2)], now, now + 60_000), [chunk(2), chunk(3)].sort());
        assert.deepEqual(await db.leases.claimedAmong([chunk(1), chunk(2), chunk(3)], now), new Set([chunk(2), chunk(3)]));
        // Already claimed: a second GC gets nothing.
        assert.deepEqual(await db.leases.claim([chunk(2), chunk(3)], now, now + 60_000), []);
        // A push renewing after the claim learns of it (the chunk counts as absent); its lease is still taken.
        assert.deepEqual(await db.leases.renew([chunk(1), chunk(2), chunk(4)], now + 5000, now), new Set([chunk(2)]));
        assert.equal(await db.leases.isLeased(chunk(2), now), true);
        assert.equal(await db.leases.until(chunk(2)), now + 5000);
        assert.deepEqual(await db.leases.leasedAmong([chunk(1), chunk(2), chunk(3), chunk(5)], now), new Set([chunk(1), chunk(2)]));
        assert.equal(await db.leases.latestUntil([chunk(1), chunk(2), chunk(5)]), now + 5000);
        assert.equal(await db.leases.latestUntil([chunk(5)]), undefined);
        await assertLxRejects(() => db.leases.claim([chunk(1)], now, Number.NaN), InvalidInputError, 'INVALID_INPUT');
        await assertLxRejects(() => db.leases.claim(['nope'], now, now + 1), InvalidIdError, 'INVALID_ID');
        assert.deepEqual(await db.leases.claim([], now, now + 1), []);
      });

      it('expire keeps rows under a live claim; release drops ended rows and keeps leased ones', async () => {
        const db = await t.open();
        const now = t.clock.t;
        assert.deepEqual(await db.leases.claim([chunk(1), chunk(2)], now, now + 60_000), [chunk(1), chunk(2)].sort());
        await db.leases.renew([chunk(2)], now + 1000, now); // a push arrives during GC
        assert.equal(await db.leases.expire(now + 2000), 0); // both claimed
        assert.equal(await db.leases.until(chunk(1)), 0);

        await db.leases.release([chunk(1), chunk(2)], now);
        assert.deepEqual(await db.leases.claimedAmong([chunk(1), chunk(2)], now), new Set());
        assert.equal(await db.leases.until(chunk(1)), undefined); // no lease left: the row is gone
        assert.equal(await db.leases.until(chunk(2)), now + 1000); // leased: kept
        await db.leases.release([], now);
        // Once released, a chunk can be claimed again when its lease has ended.
        assert.deepEqual(await db.leases.claim([chunk(1), chunk(2)], now, now + 60_000), [chunk(1)]);
        assert.deepEqual(await db.leases.claim([chunk(2)], now + 1000, now + 60_000), [chunk(2)]);
      });

      it('claims expire: a GC that died leaves chunks claimable and leasable again', async () => {
        const db = await t.open();
        const now = t.clock.t;
        assert.deepEqual(await db.leases.claim([chunk(1)], now, now + 1000), [chunk(1)]);
        assert.deepEqual(await db.leases.claimedAmong([chunk(1)], now + 999), new Set([chunk(1)]));
        assert.deepEqual(await db.leases.claimedAmong([chunk(1)], now + 1000), new Set());
        assert.deepEqual(await db.leases.renew([chunk(1)], now + 5000, now + 1000), new Set());
        assert.deepEqual(await db.leases.claim([chunk(1)], now + 1000, now + 9000), []); // leased now
        assert.deepEqual(await db.leases.claim([chunk(1)], now + 5000, now + 9000), [chunk(1)]);
        // An expired claim on an ended lease: expire removes the row.
        assert.equal(await db.leases.expire(now + 9000), 1);
        assert.equal(await db.leases.until(chunk(1)), undefined);
      });

      it('releaseAllClaims ends every live claim at once (a restart that holds the data dir)', async () => {
        const db = await t.open();
        const now = t.clock.t;
        assert.deepEqual(await db.leases.claim([chunk(1), chunk(2)], now, now + 60_000), [chunk(1), chunk(2)].sort());
        assert.equal(await db.leases.releaseAllClaims(), 2);
        assert.deepEqual(await db.leases.claimedAmong([chunk(1), chunk(2)], now), new Set());
        assert.deepEqual(await db.leases.renew([chunk(1)], now + 1000, now), new Set(), 'no longer counted as being deleted');
        assert.equal(await db.leases.releaseAllClaims(), 0);
      });

      it('claims and renewals of many ids in batches', async () => {
        const db = await t.open();
        const now = t.clock.t;
        const ids = Array.from({ length: 25_000 }, (_, i) => i.toString(16).padStart(64, '0'));
        const leased = ids.filter((_, i) => i % 2 === 0);
        await db.leases.renew(leased, now + 1000, now);
        const claimed = await db.leases.claim(ids, now, now + 60_000);
        assert.equal(claimed.length, 12_500);
        assert.deepEqual(await db.leases.renew(ids, now + 2000, now), new Set(claimed));
        await db.leases.release(claimed, now);
        assert.deepEqual(await db.leases.claimedAmong(ids, now), new Set());
        assert.equal((await db.leases.leasedIds(now)).size, 25_000);
      });
    });
  });
}
