import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat as fsStat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { assertHex64 } from '@lxchunk/chunker';
import { ChunkCorruptError, ChunkNotFoundError, InvalidInputError, IoError, withIoError } from '@lxchunk/errors';
import {
  ChunkEncoder,
  DEFAULT_COMPRESSION_LEVEL,
  decodeChunk,
  verifyChunkBytes,
  zstdContentSize,
} from '@lxchunk/format';
import { syncDir } from './sync-dir.js';
import { ChunkTurns } from './chunk-turns.js';
import { maxStoredSize } from './max-stored-size.js';
import type { ChunkEncoding, ChunkStat, ChunkStore, PutResult, QuarantineResult, QuarantinedChunk, StoredChunk, StoredChunkSource } from './chunk-store.js';
import { PRIVATE_DIR, PRIVATE_FILE_MODE } from './private-mode.js';

export interface FsChunkStoreOptions {
  /** Root directory; chunks live in `dir/chunks`, in-progress writes in `dir/tmp`. */
  readonly dir: string;
  /** fsync each chunk file and its directory before reporting it stored. Default true. */
  readonly fsync?: boolean;
  /** zstd level used when compressing. Default 3. */
  readonly compressionLevel?: number;
  /** Told of every copy moved to `dir/quarantine` (by `quarantine` or by a `put` that repairs): for metrics and logs. */
  readonly onQuarantine?: (chunk: QuarantinedChunk & { readonly path: string }) => void;
}

/** Where a stored chunk file is, for a server that streams the stored bytes as-is. */
export interface ChunkLocation {
  readonly path: string;
  readonly encoding: ChunkEncoding;
  readonly storedSize: number;
}

const SUFFIX: Record<ChunkEncoding, string> = { identity: '.raw', zstd: '.zst' };
// Lookup order: squashfs data is mostly already compressed, so raw is the common case.
const ENCODINGS: readonly ChunkEncoding[] = ['identity', 'zstd'];
const FANOUT_DIR = /^[0-9a-f]{4}$/;
const CHUNK_FILE = /^([0-9a-f]{64})\.(raw|zst)$/;
const QUARANTINE_FILE = /^([0-9a-f]{64})\.(\d+)\.[0-9a-f]{8}\.(raw|zst)$/;
const ENCODING_OF: Record<string, ChunkEncoding> = { raw: 'identity', zst: 'zstd' };
// A zstd frame header is at most 18 bytes: enough to learn the content size without reading it all.
const ZSTD_HEADER_MAX = 18;

/**
 * Content-addressed chunks on a local filesystem:
 * `dir/chunks/<first 4 hex of id>/<id>.zst` (zstd) or `.raw` (as-is).
 *
 * Writes go to a unique file in `dir/tmp` (same filesystem), are optionally fsynced, then renamed
 * into place, so a final name never holds a partial file and concurrent writers of one chunk (in
 * this process or others) each rename a complete, identical file. `has`, `stat` and `locate` look
 * at existence only; `get` verifies every read; `put` verifies an existing copy and replaces it if
 * it is corrupt (e.g. zero-length after a crash), so re-pushing a chunk repairs it.
 *
 * A corrupt copy is never deleted: `quarantine` (and a repairing `put`) renames it, atomically,
 * to `dir/quarantine/<id>.<ms since epoch>.<8 random hex>.raw|zst`, so it leaves `has` and `list`
 * at once and its bytes stay for forensics. In this process a quarantine and a put of one id take
 * turns, so a quarantine never moves the fresh copy a concurrent put just wrote.
 */
export class FsChunkStore implements ChunkStore, StoredChunkSource {
  readonly dir: string;
  private readonly chunksDir: string;
  private readonly tmpDir: string;
  private readonly quarantineDir: string;
  private readonly fsync: boolean;
  private readonly onQuarantine: FsChunkStoreOptions['onQuarantine'];
  private readonly encoder: ChunkEncoder;
  // Concurrent puts of one id in this process share one write instead of racing renames.
  private readonly turns = new ChunkTurns();
  // Fan-out directories known to exist: a put skips its mkdir. (One removed by hand fails the put's rename, with ENOENT.)
  private readonly fanoutDirs = new Set<string>();

  constructor(options: FsChunkStoreOptions) {
    if (typeof options.dir !== 'string' || options.dir === '') {
      throw new InvalidInputError('FsChunkStore needs a directory');
    }
    this.dir = options.dir;
    this.chunksDir = join(options.dir, 'chunks');
    this.tmpDir = join(options.dir, 'tmp');
    this.quarantineDir = join(options.dir, 'quarantine');
    this.fsync = options.fsync ?? true;
    this.onQuarantine = options.onQuarantine;
    this.encoder = new ChunkEncoder(options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL);
  }

  /** Creates the store's directories if needed, then returns the store. */
  static async open(options: FsChunkStoreOptions): Promise<FsChunkStore> {
    const store = new FsChunkStore(options);
    await withIoError(`creating chunk store in ${store.dir}`, async () => {
      await mkdir(store.chunksDir, PRIVATE_DIR);
      await mkdir(store.tmpDir, PRIVATE_DIR);
    });
    return store;
  }

  /** Path of the file that holds `id` in `encoding` (whether or not it exists). */
  pathOf(id: string, encoding: ChunkEncoding): string {
    assertHex64(id);
    return join(this.chunksDir, id.slice(0, 4), id + SUFFIX[encoding]);
  }

  /** The stored file for `id`, or undefined. Not verified: whoever serves it must let readers verify. */
  async locate(id: string): Promise<ChunkLocation | undefined> {
    assertHex64(id);
    for (const encoding of ENCODINGS) {
      const path = this.pathOf(id, encoding);
      const info = await withIoError(`checking chunk ${id}`, () => fsStat(path).catch(ifMissing(undefined)));
      if (info !== undefined) return { path, encoding, storedSize: info.size };
    }
    return undefined;
  }

  /**
   * The stored bytes of `id` and their encoding, read synchronously, unverified (the caller
   * decodes and verifies). For a server's hot path: a page-cached chunk file reads in ~20 µs,
   * while each async fs call costs a thread-pool round trip (60-80 µs on small VMs), and an async
   * readFile makes four of them.
   */
  async readStored(id: string): Promise<StoredChunk | undefined> {
    return this.readStoredSync(id);
  }

  readStoredSync(id: string): StoredChunk | undefined {
    assertHex64(id);
    for (const encoding of ENCODINGS) {
      try {
        return { encoding, stored: readFileSync(this.pathOf(id, encoding)) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new IoError(`reading chunk ${id}: ${(err as Error).message}`, { cause: err });
      }
    }
    return undefined;
  }

  /**
   * Existence only, checked synchronously: a stat of a cached directory entry costs microseconds.
   * A chunk being quarantined is answered after the move, so once a read has found it corrupt a
   * missing-check reports it missing.
   */
  async has(id: string): Promise<boolean> {
    assertHex64(id);
    await this.turns.quarantined(id);
    return ENCODINGS.some((encoding) => existsSync(this.pathOf(id, encoding)));
  }

  /** Sizes from the file size and, for zstd, the frame header; the content is not verified. */
  async stat(id: string): Promise<ChunkStat | undefined> {
    assertHex64(id);
    for (const encoding of ENCODINGS) {
      const path = this.pathOf(id, encoding);
      const result = await withIoError(`reading chunk ${id}`, () =>
        withFile(path, async (file) => {
          const storedSize = (await file.stat()).size;
          if (encoding === 'identity') return { id, size: storedSize, storedSize, encoding };
          const header = Buffer.alloc(Math.min(ZSTD_HEADER_MAX, storedSize));
          await file.read(header, 0, header.length, 0);
          return { id, size: zstdContentSize(id, header), storedSize, encoding };
        }),
      );
      if (result !== undefined) return result;
    }
    return undefined;
  }

  async get(id: string): Promise<Uint8Array> {
    assertHex64(id);
    let corrupt: ChunkCorruptError | undefined;
    // Both encodings may exist only if writers used different levels; a valid one wins.
    for (const encoding of ENCODINGS) {
      const stored = await this.readEncoded(id, encoding);
      if (stored === undefined) continue;
      try {
        return decodeChunk(id, encoding, stored);
      } catch (err) {
        if (!(err instanceof ChunkCorruptError)) throw err;
        corrupt ??= err;
      }
    }
    throw corrupt ?? new ChunkNotFoundError(id);
  }

  async put(id: string, bytes: Uint8Array): Promise<PutResult> {
    verifyChunkBytes(id, bytes);
    return this.turns.put(id, () => this.putVerified(id, bytes));
  }

  async delete(id: string): Promise<boolean> {
    assertHex64(id);
    let removed = false;
    for (const encoding of ENCODINGS) {
      const path = this.pathOf(id, encoding);
      if (await withIoError(`deleting chunk ${id}`, () => unlink(path).then(() => true, ifMissing(false)))) removed = true;
    }
    return removed;
  }

  async quarantine(id: string): Promise<QuarantineResult> {
    assertHex64(id);
    return this.turns.quarantine(id, () => this.quarantineCorrupt(id));
  }

  async *listQuarantined(): AsyncIterable<QuarantinedChunk> {
    const names = await withIoError('listing quarantined chunks', () => readdir(this.quarantineDir).catch(ifMissing([] as string[])));
    for (const name of names.sort()) {
      const match = QUARANTINE_FILE.exec(name);
      if (match === null) continue;
      const info = await withIoError(`reading quarantined chunk ${name}`, () => fsStat(join(this.quarantineDir, name)).catch(ifMissing(undefined)));
      if (info === undefined) continue; // removed by an operator meanwhile
      yield { id: match[1]!, encoding: ENCODING_OF[match[3]!]!, storedSize: info.size, at: Number(match[2]) };
    }
  }

  /** Walks the fan-out directories; yields only well-formed chunk file names, each id once. */
  async *list(): AsyncIterable<string> {
    const prefixes = await withIoError('listing chunks', () => readdir(this.chunksDir).catch(ifMissing([] as string[])));
    for (const prefix of prefixes.filter((name) => FANOUT_DIR.test(name)).sort()) {
      const names = await withIoError('listing chunks', () =>
        readdir(join(this.chunksDir, prefix)).catch((err: unknown) =>
          // Gone meanwhile, or a stray file with a fan-out-like name: nothing of ours in it.
          code(err) === 'ENOENT' || code(err) === 'ENOTDIR' ? [] : Promise.reject(err),
        ),
      );
      const ids = new Set<string>();
      for (const name of names) {
        const id = CHUNK_FILE.exec(name)?.[1];
        if (id !== undefined && id.startsWith(prefix)) ids.add(id);
      }
      yield* [...ids].sort();
    }
  }

  /**
   * Removes temp files older than `olderThanMs` (left by a crash mid-write); returns how many.
   * Younger ones may belong to a write in progress in another process.
   */
  async cleanTemp(olderThanMs: number): Promise<number> {
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0) {
      throw new InvalidInputError(`olderThanMs must be a non-negative number, got ${olderThanMs}`);
    }
    const cutoff = Date.now() - olderThanMs;
    const names = await withIoError('listing temp files', () => readdir(this.tmpDir).catch(ifMissing([] as string[])));
    let removed = 0;
    for (const name of names) {
      const path = join(this.tmpDir, name);
      await withIoError(`removing temp file ${path}`, async () => {
        const info = await fsStat(path).catch(ifMissing(undefined));
        if (info === undefined || !info.isFile() || info.mtimeMs > cutoff) return;
        if (await unlink(path).then(() => true, ifMissing(false))) removed++;
      });
    }
    return removed;
  }

  private async putVerified(id: string, bytes: Uint8Array): Promise<PutResult> {
    for (const encoding of ENCODINGS) {
      // A synchronous stat answers the common case (a new chunk) without two failed async opens.
      if (!existsSync(this.pathOf(id, encoding))) continue;
      const stored = await this.readVerdict(id, encoding);
      if (stored === undefined) continue;
      if (stored.intact) return { stored: false, storedSize: stored.size, encoding };
      await this.moveAside(id, encoding, stored.size);
    }

    const { encoding, stored } = this.encoder.encode(bytes);
    const finalPath = this.pathOf(id, encoding);
    await withIoError(`storing chunk ${id}`, async () => {
      if (this.fsync) await this.writeDurable(id, stored, finalPath);
      else this.writeCached(id, stored, finalPath);
    });
    return { stored: true, storedSize: stored.length, encoding };
  }

  private async quarantineCorrupt(id: string): Promise<QuarantineResult> {
    // Run after the puts in flight (ChunkTurns): it judges what a repairing put leaves.
    let quarantined = false;
    let storedSize = 0;
    for (const encoding of ENCODINGS) {
      const stored = await this.readVerdict(id, encoding);
      if (stored === undefined || stored.intact || !(await this.moveAside(id, encoding, stored.size))) continue;
      quarantined = true;
      storedSize += stored.size;
    }
    return { quarantined, storedSize };
  }

  /** Whether one encoding's copy is absent (undefined), intact, or corrupt; with its stored size. */
  private async readVerdict(id: string, encoding: ChunkEncoding): Promise<{ intact: boolean; size: number } | undefined> {
    let stored: Uint8Array | undefined;
    try {
      stored = await this.readEncoded(id, encoding);
      if (stored === undefined) return undefined;
      decodeChunk(id, encoding, stored);
      return { intact: true, size: stored.length };
    } catch (err) {
      if (!(err instanceof ChunkCorruptError)) throw err;
      // An oversized file is refused before it is read: its size comes from the file system.
      const path = this.pathOf(id, encoding);
      const size = stored?.length ?? (await withIoError(`reading chunk ${id}`, () => fsStat(path).catch(ifMissing(undefined))))?.size ?? 0;
      return { intact: false, size };
    }
  }

  /** Renames a corrupt copy into `dir/quarantine`; false when it was gone meanwhile (deleted by GC). */
  private async moveAside(id: string, encoding: ChunkEncoding, storedSize: number): Promise<boolean> {
    const at = Date.now();
    const from = this.pathOf(id, encoding);
    // The random part keeps two copies moved aside within a millisecond from overwriting each other.
    const to = join(this.quarantineDir, `${id}.${at}.${randomUUID().slice(0, 8)}${SUFFIX[encoding]}`);
    const moved = await withIoError(`quarantining chunk ${id}`, async () => {
      await mkdir(this.quarantineDir, { recursive: true });
      if (!(await rename(from, to).then(() => true, ifMissing(false)))) return false;
      // Durable like a write: after a crash the corrupt copy must not be back under its id.
      if (this.fsync) {
        await syncDir(this.quarantineDir);
        await syncDir(join(this.chunksDir, id.slice(0, 4)));
      }
      return true;
    });
    if (moved) this.onQuarantine?.({ id, encoding, storedSize, at, path: to });
    return moved;
  }

  /** Temp file, fsync, rename, fsync of the directories: on disk before the put resolves. */
  private async writeDurable(id: string, stored: Uint8Array, finalPath: string): Promise<void> {
    const fanoutDir = join(this.chunksDir, id.slice(0, 4));
    const created = this.fanoutDirs.has(fanoutDir) ? undefined : await mkdir(fanoutDir, PRIVATE_DIR);
    this.fanoutDirs.add(fanoutDir);
    const tmpPath = await this.writeTemp(id, stored);
    try {
      // rename replaces atomically: a corrupt copy under this name is never visible half-fixed.
      await rename(tmpPath, finalPath);
    } catch (err) {
      await unlink(tmpPath).catch(() => undefined);
      throw err;
    }
    await syncDir(fanoutDir);
    if (created !== undefined) await syncDir(this.chunksDir);
  }

  /**
   * Without fsync a chunk file is a page-cache copy: the same temp file and rename done
   * synchronously cost tens of microseconds, where each async call costs a thread-pool round trip.
   */
  private writeCached(id: string, stored: Uint8Array, finalPath: string): void {
    const fanoutDir = join(this.chunksDir, id.slice(0, 4));
    if (!this.fanoutDirs.has(fanoutDir)) mkdirSync(fanoutDir, PRIVATE_DIR);
    this.fanoutDirs.add(fanoutDir);
    const tmpPath = this.writeTempSync(id, stored);
    try {
      renameSync(tmpPath, finalPath);
    } catch (err) {
      rmSync(tmpPath, { force: true });
      throw err;
    }
  }

  private writeTempSync(id: string, data: Uint8Array): string {
    const tmpPath = join(this.tmpDir, `${id}.${process.pid}.${randomUUID()}.tmp`);
    try {
      try {
        writeFileSync(tmpPath, data, { flag: 'wx', mode: PRIVATE_FILE_MODE });
      } catch (err) {
        if (code(err) !== 'ENOENT') throw err;
        mkdirSync(this.tmpDir, PRIVATE_DIR);
        writeFileSync(tmpPath, data, { flag: 'wx', mode: PRIVATE_FILE_MODE });
      }
    } catch (err) {
      rmSync(tmpPath, { force: true }); // e.g. a short write on a full disk
      throw err;
    }
    return tmpPath;
  }

  private async writeTemp(id: string, data: Uint8Array): Promise<string> {
    const tmpPath = join(this.tmpDir, `${id}.${process.pid}.${randomUUID()}.tmp`);
    let file: FileHandle;
    try {
      file = await open(tmpPath, 'wx', PRIVATE_FILE_MODE);
    } catch (err) {
      if (code(err) !== 'ENOENT') throw err;
      // Constructed without open(), or tmp/ removed by hand: recreate it once.
      await mkdir(this.tmpDir, PRIVATE_DIR);
      file = await open(tmpPath, 'wx', PRIVATE_FILE_MODE);
    }
    try {
      await file.writeFile(data);
      if (this.fsync) await file.sync();
      await file.close();
    } catch (err) {
      await file.close().catch(() => undefined);
      await unlink(tmpPath).catch(() => undefined);
      throw err;
    }
    return tmpPath;
  }

  /** The stored bytes for one encoding, or undefined if absent. Oversized files count as corrupt. */
  private async readEncoded(id: string, encoding: ChunkEncoding): Promise<Uint8Array | undefined> {
    const limit = maxStoredSize(encoding);
    const path = this.pathOf(id, encoding);
    return withIoError(`reading chunk ${id}`, () =>
      withFile(path, async (file) => {
        const size = (await file.stat()).size;
        if (size > limit) throw new ChunkCorruptError(id, `stored file is ${size} bytes`);
        return file.readFile();
      }),
    );
  }
}

/** Opens `path` read-only and runs `fn`; undefined if the file does not exist. */
async function withFile<T>(path: string, fn: (file: FileHandle) => Promise<T>): Promise<T | undefined> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (err) {
    if (code(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return await fn(file);
  } finally {
    await file.close();
  }
}

function ifMissing<T>(value: T): (err: unknown) => T {
  return (err) => {
    if (code(err) === 'ENOENT') return value;
    throw err;
  };
}

function code(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}
