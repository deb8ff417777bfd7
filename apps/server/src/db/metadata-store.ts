import type { AliasExpectation, AliasHistoryEntry, AliasRecord, AliasSetResult, Change } from './alias-repo.js';
import type { ChunkAccess, ImageListFilter, ImageSummary, NewImage, StoredImage } from './image-repo.js';
import type { NewToken, TokenInfo, VerifiedToken } from './token-repo.js';

/**
 * The server's metadata behind one interface, whatever holds it: a SQLite file (one server, the
 * default) or PostgreSQL (any number of replicas). Every method is asynchronous so that a network
 * database fits; the SQLite implementation answers synchronously inside. The semantics are the
 * SQLite repositories' (image-repo.ts, alias-repo.ts, token-repo.ts, lease-repo.ts), which
 * document each method; the metadata conformance suite holds every implementation to them.
 */
export interface MetadataStore {
  readonly images: ImageRepository;
  readonly aliases: AliasRepository;
  readonly tokens: TokenRepository;
  readonly leases: LeaseRepository;
  /** 'sqlite' or 'postgres'. */
  readonly kind: MetadataKind;
  /** Where it is, safe to log: a file path, or a URL without its password. */
  readonly location: string;
  /**
   * Calls `listener` after an alias changes through any process sharing this store (PostgreSQL:
   * LISTEN/NOTIFY; SQLite: changes made through this instance). Returns the unsubscribe function.
   */
  onAliasChange(listener: () => void): () => void;
  /**
   * Runs `fn` holding the store-wide garbage-collection lock: one GC at a time across every process
   * sharing the store (PostgreSQL: a session advisory lock; SQLite: this process's lock, the data
   * directory's lock keeps other processes out). Waits for the lock.
   */
  withGcLock<T>(fn: () => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}

export type MetadataKind = 'sqlite' | 'postgres';

export interface ImageRepository {
  put(image: NewImage): Promise<'created' | 'exists'>;
  get(fingerprint: string): Promise<StoredImage | undefined>;
  summary(fingerprint: string): Promise<ImageSummary | undefined>;
  manifest(fingerprint: string): Promise<{ manifest: Buffer; public: boolean } | undefined>;
  isPublic(fingerprint: string): Promise<boolean | undefined>;
  has(fingerprint: string): Promise<boolean>;
  list(filter: ImageListFilter): Promise<ImageSummary[]>;
  delete(fingerprint: string): Promise<boolean>;
  chunkAccess(id: string): Promise<ChunkAccess>;
  /** chunkAccess of many chunks in one query (a batched fetch asks for up to thousands). */
  chunkAccessMany(ids: readonly string[]): Promise<Map<string, ChunkAccess>>;
  isReferenced(id: string): Promise<boolean>;
  /** The ids among `ids` that some image references, in one query (GC's batches). */
  referencedAmong(ids: readonly string[]): Promise<Set<string>>;
  referencingImages(id: string): Promise<string[]>;
  count(): Promise<number>;
  referencedCount(): Promise<number>;
}

export interface AliasRepository {
  get(name: string): Promise<AliasRecord | undefined>;
  list(): Promise<AliasRecord[]>;
  set(name: string, target: string, expect: AliasExpectation, description?: string): Promise<AliasSetResult>;
  delete(name: string, expectVersion?: number): Promise<boolean>;
  history(name: string, limit?: number): Promise<AliasHistoryEntry[]>;
  targetAt(name: string, version: number): Promise<string | undefined>;
  changesSince(seq: number, limit?: number): Promise<Change[]>;
  latestSeq(): Promise<number>;
  retentionCandidates(keep: number): Promise<string[]>;
}

export interface TokenRepository {
  create(input: NewToken): Promise<{ id: number; token: string }>;
  verify(token: string): Promise<VerifiedToken | undefined>;
  list(): Promise<TokenInfo[]>;
  revoke(idOrName: number | string): Promise<boolean>;
}

/**
 * Chunk leases, and GC's claims: the one place where pushes and garbage collection meet, so that
 * they stay safe with any number of server processes over one store.
 *
 * A lease keeps a chunk from GC until it ends. A claim says GC is deleting the chunk right now.
 * Both live in the chunk's one row, and every writer upserts that row, so the database orders
 * them: GC claims only chunks without a live lease or claim, and a renewal that comes after a
 * claim learns of it (the chunk must then count as absent, and be written again only once the
 * claim is released). GC checks references after claiming, so a manifest (whose commit renews the
 * leases of all its chunks first) is either seen by GC, or learns of the claim and is refused.
 */
export interface LeaseRepository {
  /**
   * Extends each chunk's lease to `until` (a longer lease is kept) and returns those of `ids`
   * under a live claim at `now`: GC is deleting them, so they count as absent.
   */
  renew(ids: readonly string[], until: number, now: number): Promise<Set<string>>;
  isLeased(id: string, now: number): Promise<boolean>;
  /** When the chunk's lease ends (epoch ms), ended or not; undefined without one. */
  until(id: string): Promise<number | undefined>;
  /** The latest lease end among `ids` (epoch ms), in one query; undefined when none has a lease. */
  latestUntil(ids: readonly string[]): Promise<number | undefined>;
  /** Every chunk leased at `now`. */
  leasedIds(now: number): Promise<Set<string>>;
  /** The ids among `ids` leased at `now`, in one query. */
  leasedAmong(ids: readonly string[], now: number): Promise<Set<string>>;
  /** Deletes ended leases (not rows under a live claim) at or before `now`; returns how many. */
  expire(now: number): Promise<number>;
  /**
   * Claims for deletion those of `ids` without a live lease or claim at `now`, until `claimUntil`;
   * returns the ids claimed. The caller deletes only those, and releases them afterwards.
   */
  claim(ids: readonly string[], now: number, claimUntil: number): Promise<string[]>;
  /** Ends the claims on `ids` (deleted or kept); rows left with no live lease are removed. */
  release(ids: readonly string[], now: number): Promise<void>;
  /** The ids among `ids` under a live claim at `now`. */
  claimedAmong(ids: readonly string[], now: number): Promise<Set<string>>;
  /**
   * Ends every claim; returns how many there were. Only for a process that knows no GC runs
   * anywhere else (it holds the data directory's lock): the claims of a GC that died are then
   * released at once instead of when they expire.
   */
  releaseAllClaims(): Promise<number>;
}
