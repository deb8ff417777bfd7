import { AsyncMutex } from '../async-mutex.js';
import { MetadataDb, type MetadataDbOptions } from './metadata-db.js';
import type { AliasRepository, ImageRepository, LeaseRepository, MetadataStore, TokenRepository } from './metadata-store.js';

/** A synchronous repository seen through the asynchronous interface: same methods, results as promises. */
type Promised<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<R> : T[K] };

function promised<T extends object>(target: T, overrides: Partial<Promised<T>> = {}): Promised<T> {
  return new Proxy(target, {
    get(object, key) {
      if (Object.hasOwn(overrides, key)) return Reflect.get(overrides, key);
      const value: unknown = Reflect.get(object, key);
      // async: a throw becomes a rejection, as a network database's would.
      return typeof value === 'function' ? async (...args: unknown[]) => (value as (...a: unknown[]) => unknown).apply(object, args) : value;
    },
  }) as unknown as Promised<T>;
}

/**
 * The metadata in one SQLite file: one server (or several processes on one machine). Alias changes
 * are announced to this instance's listeners; the GC lock is this process's.
 */
export class SqliteMetadataStore implements MetadataStore {
  readonly kind = 'sqlite';
  readonly images: ImageRepository;
  readonly aliases: AliasRepository;
  readonly tokens: TokenRepository;
  readonly leases: LeaseRepository;
  private readonly listeners = new Set<() => void>();
  private readonly gcLock = new AsyncMutex();

  constructor(readonly db: MetadataDb) {
    this.images = promised(db.images);
    this.tokens = promised(db.tokens);
    this.leases = promised(db.leases);
    this.aliases = promised(db.aliases, {
      set: async (...args) => {
        const result = db.aliases.set(...args);
        if (result.changed) this.announce();
        return result;
      },
      delete: async (...args) => {
        const deleted = db.aliases.delete(...args);
        if (deleted) this.announce();
        return deleted;
      },
    });
  }

  static open(path: string, options: MetadataDbOptions = {}): SqliteMetadataStore {
    return new SqliteMetadataStore(MetadataDb.open(path, options));
  }

  get location(): string {
    return this.db.path;
  }

  onAliasChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  withGcLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.gcLock.run(fn);
  }

  async close(): Promise<void> {
    // A GC pass in progress finishes before the database closes under it.
    await this.gcLock.run(() => undefined);
    this.db.close();
  }

  private announce(): void {
    for (const listener of this.listeners) listener();
  }
}
