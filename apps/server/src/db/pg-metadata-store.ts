import pg from 'pg';
import { InvalidInputError, UnavailableError } from '@lxchunk/errors';
import { AsyncMutex } from '../async-mutex.js';
import type { MetadataStore } from './metadata-store.js';
import { ALIAS_CHANGES_CHANNEL, PgAliasRepo } from './pg-alias-repo.js';
import { PgChangeListener } from './pg-change-listener.js';
import { PgImageRepo } from './pg-image-repo.js';
import { PgLeaseRepo } from './pg-lease-repo.js';
import { PG_LOCK_KEYS, migratePg, pgSchemaVersion } from './pg-schema.js';
import { PgTokenRepo } from './pg-token-repo.js';

export interface PgMetadataStoreOptions {
  /** Epoch ms clock for pushedAt, alias times, token times. Default Date.now. */
  now?: () => number;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** How long open() waits for the first connection. Default 10 s. */
  connectTimeoutMs?: number;
}

const INT8_OID = 20;

/**
 * Epoch ms, counts, ids and seqs are bigint columns; as JS numbers they are exact below 2^53, far
 * beyond any of them. A value beyond that would be a corrupt row: fail rather than round.
 */
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`bigint ${text} is beyond JavaScript's safe integers`);
  return value;
}

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * The metadata in PostgreSQL, shared by any number of server replicas: a pool for queries, one
 * connection listening for alias changes, and a session advisory lock for GC.
 */
export class PgMetadataStore implements MetadataStore {
  readonly kind = 'postgres';
  readonly images: PgImageRepo;
  readonly aliases: PgAliasRepo;
  readonly tokens: PgTokenRepo;
  readonly leases: PgLeaseRepo;
  private readonly changes: PgChangeListener;
  private readonly gcLock = new AsyncMutex();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly config: pg.ClientConfig,
    readonly location: string,
    now: () => number,
  ) {
    this.images = new PgImageRepo(pool, now);
    this.aliases = new PgAliasRepo(pool, now);
    this.tokens = new PgTokenRepo(pool, now);
    this.leases = new PgLeaseRepo(pool);
    this.changes = new PgChangeListener(config, ALIAS_CHANGES_CHANNEL);
  }

  /**
   * Connects to `url` (postgres://user:password@host:port/database) and migrates the schema.
   * UnavailableError when the server cannot be reached or refuses the connection: its message
   * names the host, port and database, never the password.
   */
  static async open(url: string, options: PgMetadataStoreOptions = {}): Promise<PgMetadataStore> {
    const location = safeLocation(url);
    const config: pg.ClientConfig = {
      connectionString: url,
      application_name: 'lxchunk',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      types,
    };
    const first = new pg.Client(config);
    first.on('error', () => undefined);
    try {
      await first.connect();
    } catch (err) {
      await first.end().catch(() => undefined);
      throw new UnavailableError(`cannot connect to PostgreSQL at ${location}: ${redact(err, url)}`);
    }
    try {
      await migratePg(first, location);
    } finally {
      await first.end().catch(() => undefined);
    }
    // No statement timeout: GC's and a large push's statements may run long; connections wait without end.
    const pool = new pg.Pool({ ...config, connectionTimeoutMillis: 0, max: options.poolSize ?? 10, statement_timeout: 0 });
    // An idle connection that breaks is dropped by the pool; the next query opens a new one.
    pool.on('error', () => undefined);
    return new PgMetadataStore(pool, config, location, options.now ?? Date.now);
  }

  onAliasChange(listener: () => void): () => void {
    return this.changes.add(listener);
  }

  /** Resolves once alias-change notifications are being received (after the first onAliasChange). */
  listening(): Promise<void> {
    return this.changes.ready();
  }

  /**
   * A dedicated connection holds the session advisory lock for the duration of `fn`: one GC at a
   * time across replicas. If that connection dies, PostgreSQL releases the lock.
   */
  withGcLock<T>(fn: () => Promise<T>): Promise<T> {
    return this.gcLock.run(async () => {
      const client = new pg.Client(this.config);
      client.on('error', () => undefined);
      await client.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [PG_LOCK_KEYS.gc.toString()]);
        try {
          return await fn();
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [PG_LOCK_KEYS.gc.toString()]).catch(() => undefined);
        }
      } finally {
        await client.end().catch(() => undefined);
      }
    });
  }

  /** The schema version of the database. */
  schemaVersion(): Promise<number> {
    return pgSchemaVersion(this.pool);
  }

  /** Idempotent. A GC pass in progress finishes first. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.changes.close();
      await this.gcLock.run(() => undefined);
      await this.pool.end();
    })();
    return this.closing;
  }
}

/** The URL without its password, safe to log. */
function safeLocation(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidInputError('the PostgreSQL URL must look like postgres://user@host:port/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new InvalidInputError(`the PostgreSQL URL must start with postgres:// (got ${parsed.protocol}//)`);
  }
  parsed.password = '';
  if (parsed.port === '' && parsed.hostname !== '') parsed.port = '5432';
  return parsed.toString();
}

/** An error's message with the URL's password taken out, should a driver ever echo it. */
function redact(err: unknown, url: string): string {
  const message = err instanceof Error ? err.message || String((err as { code?: unknown }).code ?? err.name) : String(err);
  const password = decodeURIComponent(new URL(url).password);
  return password ? message.split(password).join('***') : message;
}
