import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DataDirLockedError, InvalidInputError } from '@lxchunk/errors';
import { ExclusiveFileLock, FsChunkStore, PRIVATE_DIR, PRIVATE_DIR_MODE, type ChunkStore, type ChunkUrlSigner, type QuarantinedChunk, type StoredChunkSource } from '@lxchunk/store';
import type { MetadataStore } from './db/metadata-store.js';
import { SqliteMetadataStore } from './db/sqlite-metadata-store.js';

export const METADATA_FILE = 'metadata.db';
/** Beside metadata.db; holds no data. (Not `server.lock`: that name was proper-lockfile's directory.) */
export const LOCK_FILE = 'data-dir.lock';

/** Where a server (or offline gc, verify, token) keeps chunks and metadata. */
export interface StorageSpec {
  /** Filesystem chunks and SQLite metadata unless given elsewhere; the delta cache. One server per directory. */
  readonly dataDir?: string | undefined;
  /** `s3://BUCKET[/PREFIX]`: chunks in an S3-compatible object store instead of `<dataDir>/chunks`. */
  readonly chunks?: string | undefined;
  /** `postgres://…`: metadata in PostgreSQL instead of `<dataDir>/metadata.db`. */
  readonly metadata?: string | undefined;
  readonly fsync: boolean;
  /** Told of each corrupt chunk moved aside: where it was (a file path or an object key). */
  readonly onQuarantine?: (chunk: QuarantinedChunk & { readonly path?: string; readonly key?: string }) => void;
}

export type ServerChunkStore = ChunkStore & StoredChunkSource & Partial<ChunkUrlSigner> & { deleteMany?(ids: readonly string[]): Promise<Set<string>>; close?(): void };

/** What a server (or an offline command) works on, opened and composed in one place. */
export interface ServerStorage {
  readonly store: ServerChunkStore;
  readonly db: MetadataStore;
  close(): Promise<void>;
}

/**
 * Opens the chunk store and the metadata store a spec names. A data directory is created on first
 * start and locked: a second server or an offline gc on it is refused with DATA_DIR_LOCKED, and
 * the lock dies with its holder (ExclusiveFileLock), so a crashed server's directory opens again at
 * once. Shared backends need no directory: any number of servers may use them together.
 */
export async function openStorage(spec: StorageSpec): Promise<ServerStorage> {
  if (spec.dataDir === undefined && (spec.chunks === undefined || spec.metadata === undefined)) {
    throw new InvalidInputError('give --data, or both --chunks s3://… and --metadata postgres://…');
  }
  const undo: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const step of undo.splice(0).reverse()) await step();
  };
  try {
    const dataDir = spec.dataDir;
    if (dataDir !== undefined) {
      // Private whatever the umask: it holds private images' chunks and token hashes.
      if ((await mkdir(dataDir, PRIVATE_DIR)) !== undefined) await chmod(dataDir, PRIVATE_DIR_MODE);
      const lock = ExclusiveFileLock.tryAcquire(join(dataDir, LOCK_FILE));
      if (!lock) throw new DataDirLockedError(dataDir);
      undo.push(() => lock.release());
    }
    const store: ServerChunkStore = spec.chunks !== undefined ? await openObjectStore(spec.chunks, spec) : await openFsStore(dataDir!, spec);
    undo.push(() => store.close?.());
    const db = await openMetadata(spec);
    undo.push(() => db.close());
    // Our locked directory's SQLite: no other process can be collecting, so claims left behind
    // by a GC that died are released now rather than when they expire.
    if (dataDir !== undefined && spec.metadata === undefined) await db.leases.releaseAllClaims();
    return { store, db, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * Just the metadata a spec names, without locking a data directory: SQLite's own locking lets
 * `chunk token` edit the tokens of a running server.
 */
export async function openMetadata(spec: Pick<StorageSpec, 'dataDir' | 'metadata'>): Promise<MetadataStore> {
  if (spec.metadata !== undefined) return openPostgres(spec.metadata);
  if (spec.dataDir === undefined) throw new InvalidInputError('give --data or --metadata postgres://…');
  return SqliteMetadataStore.open(join(spec.dataDir, METADATA_FILE));
}

async function openFsStore(dir: string, spec: StorageSpec): Promise<FsChunkStore> {
  const store = await FsChunkStore.open({ dir, fsync: spec.fsync, onQuarantine: spec.onQuarantine });
  // We hold the lock, so no other writer exists: every temp file is a dead writer's.
  await store.cleanTemp(0);
  return store;
}

// The AWS SDK and pg load only when used: each costs a `chunk` command a noticeable start-up time.
async function openObjectStore(url: string, spec: StorageSpec): Promise<ServerChunkStore> {
  const { S3ChunkStore } = await import('@lxchunk/store/s3');
  const store = S3ChunkStore.fromUrl(url, { onQuarantine: spec.onQuarantine });
  try {
    // A wrong bucket or endpoint shows at startup, not at the first push.
    await store.checkBucket();
    return store;
  } catch (err) {
    store.close();
    throw err;
  }
}

async function openPostgres(url: string): Promise<MetadataStore> {
  const { PgMetadataStore } = await import('./db/pg-metadata-store.js');
  return PgMetadataStore.open(url);
}
