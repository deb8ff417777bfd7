import assert from 'node:assert/strict';
import { InvalidIdError, InvalidInputError } from '@lxchunk/errors';
import { assertLxError, chunk, useTempDb } from './helpers.js';

describe('LeaseRepo', () => {
  const t = useTempDb();

  it('renew takes the later of the old and new end; isLeased is true while until > now', () => {
    const db = t.open();
    const now = t.clock.t;
    db.leases.renew([chunk(1), chunk(2), chunk(1)], now + 1000, now);
    assert.equal(db.leases.isLeased(chunk(1), now), true);
    assert.equal(db.leases.isLeased(chunk(1), now + 999), true);
    assert.equal(db.leases.isLeased(chunk(1), now + 1000), false);
    assert.equal(db.leases.isLeased(chunk(3), now), false);

    db.leases.renew([chunk(1)], now + 5000, now);
    db.leases.renew([chunk(1), chunk(2)], now + 500, now); // shorter: no effect
    assert.equal(db.leases.isLeased(chunk(1), now + 4999), true);
    assert.equal(db.leases.isLeased(chunk(2), now + 999), true);
    assert.deepEqual(db.leases.leasedIds(now + 1000), new Set([chunk(1)]));
    assert.deepEqual(db.leases.leasedIds(now), new Set([chunk(1), chunk(2)]));
    db.leases.renew([], now + 10_000, now);
  });

  it('expire deletes ended leases and returns how many', () => {
    const db = t.open();
    const now = t.clock.t;
    db.leases.renew([chunk(1), chunk(2)], now + 1000, now);
    db.leases.renew([chunk(3)], now + 2000, now);
    assert.equal(db.leases.expire(now), 0);
    assert.equal(db.leases.expire(now + 1000), 2);
    assert.equal(db.leases.expire(now + 1000), 0);
    assert.deepEqual(db.leases.leasedIds(now), new Set([chunk(3)]));
    // Renewing after expiry starts a new lease.
    db.leases.renew([chunk(1)], now + 3000, now);
    assert.equal(db.leases.isLeased(chunk(1), now + 2500), true);
    assert.equal(db.leases.expire(now + 5000), 2);
    assert.deepEqual(db.leases.leasedIds(0), new Set());
  });

  it('renews 100k ids in one call and lists them back', () => {
    const db = t.open();
    const ids = Array.from({ length: 100_000 }, (_, i) => i.toString(16).padStart(64, '0'));
    const now = t.clock.t;
    db.leases.renew(ids, now + 1000, now);
    db.leases.renew(ids, now + 2000, now);
    const leased = db.leases.leasedIds(now + 1500);
    assert.equal(leased.size, 100_000);
    assert.ok(leased.has(ids[99_999]!));
    assert.equal(db.leases.expire(now + 2000), 100_000);
  });

  it('validates ids and times, leaving nothing half-written', () => {
    const db = t.open();
    assertLxError(() => db.leases.renew([chunk(1), 'nope'], t.clock.t + 1, t.clock.t), InvalidIdError, 'INVALID_ID');
    assertLxError(() => db.leases.renew([chunk(1)], Number.NaN, t.clock.t), InvalidInputError, 'INVALID_INPUT');
    assert.equal(db.leases.isLeased(chunk(1), 0), false);
  });
});
