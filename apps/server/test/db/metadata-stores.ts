import type { MetadataStore } from '../../src/db/metadata-store.js';
import { FakeClock } from './helpers.js';

/** How the conformance suite gets databases and stores of one kind. */
export interface MetadataFactory {
  /** Once before the suite (start a database server). */
  setUp?(): Promise<void>;
  /** Once after the suite. */
  tearDown?(): Promise<void>;
  /** A new, empty database for one test: its location (a file path, a URL). */
  fresh(): Promise<string>;
  open(location: string, now: () => number): Promise<MetadataStore>;
  /** After the test, once its stores are closed. */
  discard?(location: string): Promise<void>;
}

export interface MetadataStores {
  readonly clock: FakeClock;
  /** This test's database. */
  readonly location: string;
  /** Opens a store on this test's database, on the fake clock; a second call is a second instance ("replica"). Closed after the test. */
  open(): Promise<MetadataStore>;
}

/** A fresh database per test, and every store opened on it closed after the test. */
export function useMetadataStores(factory: MetadataFactory): MetadataStores {
  let clock = new FakeClock();
  let location = '';
  const opened: MetadataStore[] = [];
  before(async () => factory.setUp?.());
  after(async () => factory.tearDown?.());
  beforeEach(async () => {
    clock = new FakeClock();
    location = await factory.fresh();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await factory.discard?.(location);
  });
  return {
    get clock() {
      return clock;
    },
    get location() {
      return location;
    },
    async open() {
      const store = await factory.open(location, clock.now);
      opened.push(store);
      return store;
    },
  };
}
