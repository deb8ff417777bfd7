import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PreconditionFailedError, UnavailableError } from '@lxchunk/errors';
import { PgMetadataStore } from '../../src/db/pg-metadata-store.js';
import { PG_SCHEMA_VERSION } from '../../src/db/pg-schema.js';
import { freshDatabaseUrl, startPrivatePostgres, type PrivatePostgres } from '../../src/testing/index.js';
import { fp, newImage } from './helpers.js';
import { describeMetadataConformance } from './metadata-conformance.js';
import { useMetadataStores } from './metadata-stores.js';

describe('PgMetadataStore', () => {
  let cluster: PrivatePostgres;
  before(async () => {
    cluster = await startPrivatePostgres();
  });
  after(async () => cluster?.stop());

  const factory = {
    fresh: () => freshDatabaseUrl(cluster.url),
    open: (url: string, now: () => number) => PgMetadataStore.open(url, { now }),
  };
  describeMetadataConformance('PostgreSQL', factory);

  describe('two replicas on one database', () => {
    const t = useMetadataStores(factory);
    const openPg = async (): Promise<PgMetadataStore> => (await t.open()) as PgMetadataStore;

    it('racing compare-and-swaps: exactly one wins, versions stay consistent', async () => {
      const [a, b] = [await openPg(), await openPg()];
      for (let n = 1; n <= 3; n++) await a.images.put(newImage(n));

      const creates = await Promise.allSettled([a, b, a, b, a, b].map((store, i) => store.aliases.set('x', fp(1 + (i % 2)), { absent: true })));
      assert.equal(creates.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of creates) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));

      const current = (await b.aliases.get('x'))!;
      assert.equal(current.version, 1);
      const moves = await Promise.allSettled(
        [a, b, a, b, a, b].map((store, i) => store.aliases.set('x', fp(i % 2 === 0 ? 3 : current.target === fp(1) ? 2 : 1), { version: 1 })),
      );
      assert.equal(moves.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of moves) if (r.status === 'rejected') assert.ok(r.reason instanceof PreconditionFailedError, String(r.reason));

      const after = (await a.aliases.get('x'))!;
      assert.equal(after.version, 2);
      assert.deepEqual(await b.aliases.get('x'), after);
      assert.deepEqual(
        (await a.aliases.history('x')).map((h) => h.version),
        [2, 1],
      );
      assert.deepEqual(
        (await b.aliases.changesSince(0)).map((c) => [c.seq, c.version]),
        [
          [1, 1],
          [2, 2],
        ],
      );
      // Delete and re-create through different replicas: the version continues.
      assert.equal(await b.aliases.delete('x', 2), true);
      assert.equal((await a.aliases.set('x', fp(1), { absent: true })).record.version, 3);
    });

    it('a change made through one wakes onAliasChange on the other', async () => {
      const [a, b] = [await openPg(), await openPg()];
      await a.images.put(newImage(1));
      let woken = 0;
      const wake = new Promise<void>((resolve) =>
        b.onAliasChange(() => {
          woken++;
          resolve();
        }),
      );
      await b.listening();
      await a.aliases.set('x', fp(1), { absent: true });
      await Promise.race([wake, sleep(10_000).then(() => assert.fail('no notification within 10 s'))]);
      assert.equal(woken, 1);
      assert.equal(await b.aliases.latestSeq(), 1);
    });

    it('the listener reconnects after its connection is killed, and wakes listeners once then', async () => {
      const a = await openPg();
      let woken = 0;
      a.onAliasChange(() => woken++);
      await a.listening();
      const admin = new pg.Client({ connectionString: t.location });
      await admin.connect();
      try {
        const killed = await admin.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'`,
        );
        assert.equal(killed.rowCount, 1);
      } finally {
        await admin.end();
      }
      for (let waited = 0; woken === 0 && waited < 10_000; waited += 20) await sleep(20);
      assert.equal(woken, 1);
      await a.images.put(newImage(1));
      await a.aliases.set('x', fp(1), { absent: true });
      for (let waited = 0; woken === 1 && waited < 10_000; waited += 20) await sleep(20);
      assert.equal(woken, 2);
    });

    it('withGcLock excludes across replicas', async () => {
      const [a, b] = [await openPg(), await openPg()];
      const spans: Array<[number, number]> = [];
      const gc = async (): Promise<void> => {
        const start = performance.now();
        await sleep(150);
        spans.push([start, performance.now()]);
      };
      await Promise.all([a.withGcLock(gc), b.withGcLock(gc), a.withGcLock(gc), b.withGcLock(gc)]);
      spans.sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < spans.length; i++) assert.ok(spans[i]![0] >= spans[i - 1]![1], `GC passes overlap: ${JSON.stringify(spans)}`);
      // The lock is released when fn throws.
      await assert.rejects(a.withGcLock(async () => Promise.reject(new Error('boom'))), /boom/);
      assert.equal(await b.withGcLock(async () => 'ran'), 'ran');
    });
  });

  it('several replicas opening a fresh database at once migrate it once', async () => {
    const url = await freshDatabaseUrl(cluster.url);
    const stores = await Promise.all(Array.from({ length: 5 }, () => PgMetadataStore.open(url)));
    try {
      for (const store of stores) assert.equal(await store.schemaVersion(), PG_SCHEMA_VERSION);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ version: number }>('SELECT version FROM lxchunk_schema ORDER BY version');
        assert.deepEqual(
          rows.map((r) => r.version),
          Array.from({ length: PG_SCHEMA_VERSION }, (_, i) => i + 1),
        );
      } finally {
        await client.end();
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('an unreachable server is a clear UnavailableError naming host and port, never the password', async () => {
    const err = await PgMetadataStore.open('postgres://lxchunk:s3cret-pw@127.0.0.1:1/meta').then(
      () => assert.fail('opened'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof UnavailableError, String(err));
    assert.match(err.message, /127\.0\.0\.1:1\b/);
    assert.match(err.message, /meta/);
    assert.doesNotMatch(err.message, /s3cret/);
    assert.doesNotMatch(JSON.stringify(err), /s3cret/);
  });

  it('location is the URL without its password; close is idempotent', async () => {
    const url = new URL(await freshDatabaseUrl(cluster.url));
    url.password = 'pw';
    const store = await PgMetadataStore.open(url.toString());
    assert.equal(store.kind, 'postgres');
    assert.doesNotMatch(store.location, /pw/);
    assert.match(store.location, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/lxchunk_/);
    await store.close();
    await store.close();
  });
});
