import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LxchunkError, type ErrorCode } from '@lxchunk/errors';
import { MetadataDb, type NewImage } from '../../src/db/index.js';

/** A settable epoch-ms clock. */
export class FakeClock {
  constructor(public t = 1_800_000_000_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}

/** A deterministic 64-hex id per label. */
export function hex(label: string | number): string {
  return createHash('sha256').update(String(label)).digest('hex');
}

export const fp = (n: number): string => hex(`image ${n}`);
export const chunk = (n: number): string => hex(`chunk ${n}`);

export function newImage(n: number, overrides: Partial<NewImage> = {}): NewImage {
  const fingerprint = overrides.fingerprint ?? fp(n);
  return {
    fingerprint,
    manifest: Buffer.from(JSON.stringify({ fingerprint, n })),
    type: 'container',
    architecture: 'x86_64',
    created: '2027-01-01T00:00:00Z',
    public: false,
    properties: { os: 'debian', release: 'bookworm' },
    size: 1000 + n,
    chunkIds: [chunk(n), chunk(1000 + n)],
    ...overrides,
  };
}

/** A temporary directory per test and MetadataDb instances that are all closed after it. */
export interface TempDb {
  readonly dir: string;
  readonly clock: FakeClock;
  /** Opens (and closes after the test) a MetadataDb on the fake clock. */
  open(name?: string): MetadataDb;
  path(name?: string): string;
}

export function useTempDb(): TempDb {
  let dir = '';
  let clock = new FakeClock();
  const opened: MetadataDb[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxchunk-db-'));
    clock = new FakeClock();
  });
  afterEach(() => {
    for (const db of opened.splice(0)) db.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    get dir() {
      return dir;
    },
    get clock() {
      return clock;
    },
    path: (name = 'metadata.db') => join(dir, name),
    open(name = 'metadata.db') {
      const db = MetadataDb.open(join(dir, name), { now: clock.now });
      opened.push(db);
      return db;
    },
  };
}

/** Asserts `fn` throws the LxchunkError subclass with that code; returns it for further checks. */
export function assertLxError<T extends LxchunkError>(fn: () => unknown, type: abstract new (...args: never[]) => T, code: ErrorCode): T {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  assert.equal((caught as T).code, code);
  return caught as T;
}

/** assertLxError for a promise: awaits `fn()` and asserts it rejects with that LxchunkError subclass and code. */
export async function assertLxRejects<T extends LxchunkError>(
  fn: () => Promise<unknown>,
  type: abstract new (...args: never[]) => T,
  code: ErrorCode,
): Promise<T> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof type, `expected ${type.name}, got ${String(caught)}`);
  assert.equal((caught as T).code, code);
  return caught as T;
}
