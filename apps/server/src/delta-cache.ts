import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chunkId, idToBytes } from '@lxchunk/chunker';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '@lxchunk/store';

/** What a cached answer holds: a delta payload, or nothing (the plain chunk was as good). */
export type CachedDelta = { readonly payload: Uint8Array } | { readonly payload: undefined };

const CHECK_BYTES = 32;

/**
 * Computed deltas on disk, keyed by target and bases, bounded in bytes (least recently used
 * evicted first). A file holds the payload and its BLAKE3, so a damaged entry is noticed, dropped
 * and computed again; writes go to a temp name and are renamed, so no reader sees half an entry.
 * Entries are not fsynced: losing one to a crash costs a recomputation, never a wrong answer.
 * An empty payload records that the plain chunk was the better answer, which is worth
 * remembering as well (the zstd run was spent).
 */
export class DeltaCache {
  /** key → size on disk; Map order is recency (oldest first). */
  private readonly entries = new Map<string, number>();
  private bytes = 0;
  private seq = 0;

  private constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  /** Opens (creating) `dir`, forgets what a crash left half-written, and counts what is there. */
  static open(dir: string, maxBytes: number): DeltaCache {
    const cache = new DeltaCache(dir, maxBytes);
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const found: Array<{ key: string; size: number; used: number }> = [];
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!/^[0-9a-f]{64}$/.test(name)) {
        rmSync(path, { force: true, recursive: true });
        continue;
      }
      const info = statSync(path);
      found.push({ key: name, size: info.size, used: info.mtimeMs });
    }
    for (const { key, size } of found.sort((a, b) => a.used - b.used)) cache.remember(key, size);
    cache.evict();
    return cache;
  }

  /** The key of a delta of `target` against `bases`, in that order. */
  static key(target: string, bases: readonly string[]): string {
    return chunkId(Buffer.concat([idToBytes(target), ...bases.map((base) => idToBytes(base))]));
  }

  get storedBytes(): number {
    return this.bytes;
  }

  get(key: string): CachedDelta | undefined {
    const size = this.entries.get(key);
    if (size === undefined) return undefined;
    let file: Buffer;
    try {
      file = readFileSync(join(this.dir, key));
    } catch {
      this.drop(key);
      return undefined;
    }
    const payload = file.subarray(0, Math.max(0, file.length - CHECK_BYTES));
    if (file.length < CHECK_BYTES || !idToBytes(chunkId(payload)).equals(file.subarray(payload.length))) {
      this.drop(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, size);
    return { payload: payload.length > 0 ? payload : undefined };
  }

  /** Keeps an answer; a failure to write (a full disk) only means it is computed again. */
  put(key: string, payload: Uint8Array | undefined): void {
    if (this.maxBytes <= 0 || this.entries.has(key)) return;
    const body = payload ?? new Uint8Array(0);
    const size = body.length + CHECK_BYTES;
    if (size > this.maxBytes) return;
    const temp = join(this.dir, `.tmp-${process.pid}-${this.seq++}`);
    try {
      writeFileSync(temp, Buffer.concat([body, idToBytes(chunkId(body))]), { mode: PRIVATE_FILE_MODE });
      renameSync(temp, join(this.dir, key));
    } catch {
      rmSync(temp, { force: true });
      return;
    }
    this.remember(key, size);
    this.evict();
  }

  private remember(key: string, size: number): void {
    this.entries.set(key, size);
    this.bytes += size;
  }

  private drop(key: string): void {
    const size = this.entries.get(key);
    if (size === undefined) return;
    this.entries.delete(key);
    this.bytes -= size;
    rmSync(join(this.dir, key), { force: true });
  }

  private evict(): void {
    for (const key of this.entries.keys()) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(key);
    }
  }
}
