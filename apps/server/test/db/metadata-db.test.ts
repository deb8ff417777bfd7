import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { ConflictError, InternalError, PreconditionFailedError } from '@lxchunk/errors';
import { MetadataDb, SCHEMA_VERSION } from '../../src/db/index.js';
import { assertLxError, fp, newImage, useTempDb } from './helpers.js';

describe('MetadataDb', () => {
  const t = useTempDb();

  it('creates the file, its directory and the schema, in WAL mode with user_version set', () => {
    const path = join(t.dir, 'nested', 'dir', 'metadata.db');
    const db = MetadataDb.open(path);
    try {
      assert.ok(existsSync(path));
      assert.equal(db.schemaVersion, SCHEMA_VERSION);
      assert.ok(SCHEMA_VERSION >= 1);
    } finally {
      db.close();
    }
    const raw = new Database(path, { readonly: true });
    try {
      assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      const tables = raw
        .prepare<[], string>(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
        .pluck()
        .all();
      assert.deepEqual(tables, ['alias_changes', 'alias_history', 'aliases', 'image_chunks', 'images', 'leases', 'tokens']);
      // Ids are 32-byte blobs, not hex text.
      const columns = raw.prepare<[], { name: string; type: string }>(`SELECT name, type FROM pragma_table_info('image_chunks')`).all();
      assert.deepEqual(columns.find((c) => c.name === 'chunk_id')?.type, 'BLOB');
    } finally {
      raw.close();
    }
  });

  it('keeps data across close and reopen, without re-running migrations', () => {
    const db = t.open();
    db.images.put(newImage(1));
    db.aliases.set('debian/12', fp(1), { absent: true });
    const { token } = db.tokens.create({ name: 'ci', scopes: ['push'] });
    db.close();

    const again = t.open();
    assert.equal(again.schemaVersion, SCHEMA_VERSION);
    assert.equal(again.images.get(fp(1))?.fingerprint, fp(1));
    assert.equal(again.aliases.get('debian/12')?.version, 1);
    assert.equal(again.tokens.verify(token)?.name, 'ci');
    assert.equal(again.aliases.latestSeq(), 1);
  });

  it('configures every connection: WAL, foreign keys, busy_timeout 5000', () => {
    const a = t.open();
    const b = t.open();
    for (const db of [a, b]) {
      assert.deepEqual(db.settings(), { journalMode: 'wal', foreignKeys: true, busyTimeoutMs: 5000, schemaVersion: SCHEMA_VERSION });
    }
    a.images.put(newImage(1));
    a.aliases.set('a', fp(1), { absent: true });
    a.close();
    // The aliases -> images foreign key backs up ImageInUseError at the SQL level.
    const raw = new Database(t.path());
    try {
      raw.pragma('foreign_keys = ON');
      assert.throws(() => raw.prepare('DELETE FROM images').run(), /FOREIGN KEY/);
    } finally {
      raw.close();
    }
    assert.equal(b.images.has(fp(1)), true);
  });

  it('refuses a database from a newer schema version and a foreign SQLite file', () => {
    const newer = t.path('newer.db');
    const raw = new Database(newer);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assertLxError(() => MetadataDb.open(newer), InternalError, 'INTERNAL');

    const foreign = t.path('foreign.db');
    const other = new Database(foreign);
    other.pragma('application_id = 42');
    other.close();
    assertLxError(() => MetadataDb.open(foreign), InternalError, 'INTERNAL');

    mkdirSync(join(t.dir, 'junk'));
    writeFileSync(join(t.dir, 'junk', 'x.db'), 'not a database at all, just text '.repeat(100));
    assert.throws(() => MetadataDb.open(join(t.dir, 'junk', 'x.db')));
  });

  it('transaction() commits together or rolls back together', () => {
    const db = t.open();
    db.images.put(newImage(1));
    assert.throws(
      () =>
        db.transaction(() => {
          db.images.put(newImage(2));
          db.aliases.set('a', fp(2), { absent: true });
          db.images.put(newImage(1, { manifest: Buffer.from('different') })); // ConflictError
        }),
      ConflictError,
    );
    assert.equal(db.images.has(fp(2)), false);
    assert.equal(db.aliases.get('a'), undefined);
    assert.equal(db.aliases.latestSeq(), 0);

    const version = db.transaction(() => {
      db.images.put(newImage(2));
      return db.aliases.set('a', fp(2), { absent: true }).record.version;
    });
    assert.equal(version, 1);
    assert.equal(db.aliases.get('a')?.target, fp(2));
  });

  it('close() is idempotent', () => {
    const db = t.open();
    db.close();
    db.close();
    assert.equal(db.isOpen, false);
  });

  it('two instances on one file: compare-and-swap lets exactly one writer win', () => {
    const a = t.open();
    const b = t.open();
    a.images.put(newImage(1));
    b.images.put(newImage(2));
    b.images.put(newImage(3));
    a.aliases.set('x', fp(1), { absent: true });

    // Both read version 1, both try to move it.
    const seenByA = a.aliases.get('x')!;
    const seenByB = b.aliases.get('x')!;
    assert.equal(seenByA.version, 1);
    assert.equal(seenByB.version, 1);
    assert.equal(a.aliases.set('x', fp(2), { version: seenByA.version }).record.version, 2);
    const moveB = () => b.aliases.set('x', fp(3), { version: seenByB.version });
    const err = assertLxError(moveB, PreconditionFailedError, 'PRECONDITION_FAILED');
    assert.deepEqual(err.details, { current: { target: fp(2), version: 2 } });
    assert.equal(b.aliases.get('x')?.target, fp(2));

    // Both try to create the same new alias.
    b.aliases.set('y', fp(3), { absent: true });
    assertLxError(() => a.aliases.set('y', fp(1), { absent: true }), PreconditionFailedError, 'PRECONDITION_FAILED');
    assert.deepEqual(
      a.aliases.changesSince(0).map((c) => [c.alias, c.version]),
      [
        ['x', 1],
        ['x', 2],
        ['y', 1],
      ],
    );
  });

  it('worker threads racing a compare-and-swap on one file: exactly one wins, the rest get 412', async function () {
    const db = t.open();
    for (let n = 0; n <= 4; n++) db.images.put(newImage(n));
    db.aliases.set('race', fp(0), { absent: true });
    db.close();

    const moduleUrl = new URL('../../src/db/index.js', import.meta.url).href;
    const start = new Int32Array(new SharedArrayBuffer(4));
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.moduleUrl).then(({ MetadataDb }) => {
        const db = MetadataDb.open(workerData.path);
        parentPort.postMessage('ready');
        Atomics.wait(workerData.start, 0, 0);
        let result;
        try {
          const { record } = db.aliases.set('race', workerData.target, { version: 1 });
          result = { ok: true, version: record.version, target: record.target };
        } catch (err) {
          result = { ok: false, code: err.code, current: err.details && err.details.current };
        }
        db.close();
        parentPort.postMessage(result);
      }, (err) => parentPort.postMessage({ ok: false, code: 'LOAD', message: String(err) }));
    `;
    type Result = { ok: boolean; code?: string; version?: number; target?: string; current?: { target: string; version: number } };
    const workers = [1, 2, 3, 4].map(
      (n) => new Worker(code, { eval: true, workerData: { moduleUrl, path: t.path(), start, target: fp(n) } }),
    );
    const ready = workers.map((w) => new Promise<void>((resolve) => w.once('message', () => resolve())));
    const results = workers.map(
      (w) =>
        new Promise<Result>((resolve, reject) => {
          let first = true;
          w.on('message', (m: Result | 'ready') => {
            if (first && m === 'ready') first = false;
            else resolve(m as Result);
          });
          w.once('error', reject);
        }),
    );
    await Promise.all(ready);
    Atomics.store(start, 0, 1);
    Atomics.notify(start, 0);
    const outcomes = await Promise.all(results);
    await Promise.all(workers.map((w) => w.terminate()));

    const winners = outcomes.filter((r) => r.ok);
    const losers = outcomes.filter((r) => !r.ok);
    assert.equal(winners.length, 1, JSON.stringify(outcomes));
    assert.equal(winners[0]!.version, 2);
    for (const loser of losers) {
      assert.equal(loser.code, 'PRECONDITION_FAILED', JSON.stringify(loser));
      assert.deepEqual(loser.current, { target: winners[0]!.target, version: 2 });
    }
    const after = t.open();
    assert.deepEqual(after.aliases.get('race')?.target, winners[0]!.target);
    assert.equal(after.aliases.history('race').length, 2);
    assert.equal(after.aliases.latestSeq(), 2);
  });
});
