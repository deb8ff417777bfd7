import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '@lxchunk/store';
import { HashMismatchError } from '@lxchunk/errors';
import { AsyncMutex } from '../async-mutex.js';

/** A delta as the products file lists it; `worth` false: no smaller than the target, so not offered. */
export interface ImageDeltaInfo {
  readonly sha256: string;
  readonly size: number;
  readonly worth: boolean;
}

/** A delta just made and recorded: listings from now on offer it. */
export interface MadeDelta {
  readonly base: string;
  readonly target: string;
  readonly info: ImageDeltaInfo;
  readonly seconds: number;
}

/** Writes the delta from `base` to `target` at `outPath` (verified), or throws. */
export type ImageDeltaMaker = (base: string, target: string, outPath: string) => Promise<void>;

/** A delta as large as this share of its target saves too little to be worth a second download path. */
const WORTH_SHARE = 0.9;

const ENTRY = /^([0-9a-f]{64})-([0-9a-f]{64})\.vcdiff$/;

/**
 * Simplestreams deltas between whole image files on disk, made on first demand, one at a time
 * (xdelta3 holds a window of the base in memory), and bounded in bytes: least recently used go
 * first. Each `<base>-<target>.vcdiff` has a `.json` beside it with its sha256 and size, written
 * after the delta is in place, so a crash never leaves an entry whose listing is wrong: a delta
 * without its record is removed at open, as is any temp file.
 */
export class ImageDeltaCache {
  /** key → info; Map order is recency (oldest first). */
  private readonly entries = new Map<string, ImageDeltaInfo>();
  private readonly making = new Map<string, Promise<ImageDeltaInfo>>();
  private readonly oneAtATime = new AsyncMutex();
  private bytes = 0;
  private seq = 0;

  private constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    private readonly make: ImageDeltaMaker,
    private readonly onChange: (storedBytes: number) => void,
    private readonly onMade: (made: MadeDelta) => void,
  ) {}

  static open(dir: string, maxBytes: number, make: ImageDeltaMaker, onChange: (storedBytes: number) => void = () => undefined, onMade: (made: MadeDelta) => void = () => undefined): ImageDeltaCache {
    const cache = new ImageDeltaCache(dir, maxBytes, make, onChange, onMade);
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    const found: Array<{ key: string; info: ImageDeltaInfo; used: number }> = [];
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (!ENTRY.test(name)) {
        // Temp files, work dirs of a make that died, and records: those of kept deltas are read below.
        if (!name.endsWith('.json') || !ENTRY.test(name.slice(0, -5))) rmSync(path, { recursive: true, force: true });
        continue;
      }
      const info = readRecord(`${path}.json`);
      const { size, mtimeMs } = statSync(path);
      if (!info || info.size !== size) {
        rmSync(path, { force: true });
        rmSync(`${path}.json`, { force: true });
        continue;
      }
      found.push({ key: name, info, used: mtimeMs });
    }
    // Records whose delta is gone.
    const kept = new Set(found.map((f) => `${f.key}.json`));
    for (const name of readdirSync(dir)) if (name.endsWith('.json') && !kept.has(name)) rmSync(join(dir, name), { force: true });
    for (const { key, info } of found.sort((a, b) => a.used - b.used)) cache.remember(key, info);
    cache.evict();
    return cache;
  }

  get storedBytes(): number {
    return this.bytes;
  }

  /** What is known of the delta, without making it. */
  known(base: string, target: string): ImageDeltaInfo | undefined {
    return this.entries.get(keyOf(base, target));
  }

  /** The delta's record, making it first if needed (concurrent callers share one make). */
  ensure(base: string, target: string, targetSize: number): Promise<ImageDeltaInfo> {
    const key = keyOf(base, target);
    const known = this.entries.get(key);
    if (known) return Promise.resolve(known);
    let making = this.making.get(key);
    if (!making) {
      making = this.oneAtATime.run(() => this.makeEntry(base, target, targetSize, key)).finally(() => this.making.delete(key));
      this.making.set(key, making);
    }
    return making;
  }

  /**
   * A stream of the delta's bytes, checked against its recorded sha256 as they go: a delta
   * damaged on disk ends the stream with an error and is dropped, to be made again.
   */
  async open(base: string, target: string): Promise<{ info: ImageDeltaInfo; stream: AsyncGenerator<Uint8Array> } | undefined> {
    const key = keyOf(base, target);
    const found = this.entries.get(key);
    if (!found || !found.worth) return undefined;
    const info: ImageDeltaInfo = found;
    this.entries.delete(key);
    this.entries.set(key, info);
    const path = join(this.dir, key);
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined);
    const cache = this;
    async function* stream(): AsyncGenerator<Uint8Array> {
      const hash = createHash('sha256');
      // One piece held back: the last goes out only once the whole matched its record.
      let held: Buffer | undefined;
      for await (const bytes of createReadStream(path)) {
        if (held) yield held;
        hash.update(bytes as Buffer);
        held = bytes as Buffer;
      }
      if (hash.digest('hex') !== info.sha256) {
        await cache.drop(key);
        throw new HashMismatchError(`simplestreams delta ${key} on disk (dropped; it is made again when next listed)`, info.sha256, 'other bytes');
      }
      if (held) yield held;
    }
    return { info, stream: stream() };
  }

  private async makeEntry(base: string, target: string, targetSize: number, key: string): Promise<ImageDeltaInfo> {
    const known = this.entries.get(key);
    if (known) return known;
    const path = join(this.dir, key);
    const temp = join(this.dir, `.tmp-${process.pid}-${++this.seq}`);
    const started = performance.now();
    try {
      await this.make(base, target, temp);
      const size = (await stat(temp)).size;
      const hash = createHash('sha256');
      for await (const bytes of createReadStream(temp)) hash.update(bytes as Buffer);
      const info: ImageDeltaInfo = { sha256: hash.digest('hex'), size, worth: size < WORTH_SHARE * targetSize };
      await rename(temp, path);
      const record = `${path}.json.tmp`;
      await writeFile(record, JSON.stringify(info), { mode: PRIVATE_FILE_MODE });
      await rename(record, `${path}.json`);
      this.remember(key, info);
      this.evict();
      this.onMade({ base, target, info, seconds: (performance.now() - started) / 1000 });
      return info;
    } finally {
      await rm(temp, { force: true });
    }
  }

  private remember(key: string, info: ImageDeltaInfo): void {
    this.entries.set(key, info);
    this.bytes += info.size;
    this.onChange(this.bytes);
  }

  private async drop(key: string): Promise<void> {
    const info = this.entries.get(key);
    if (!info) return;
    this.entries.delete(key);
    this.bytes -= info.size;
    this.onChange(this.bytes);
    await rm(`${join(this.dir, key)}.json`, { force: true });
    await rm(join(this.dir, key), { force: true });
  }

  private evict(): void {
    for (const [key, info] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(key);
      this.bytes -= info.size;
      rmSync(`${join(this.dir, key)}.json`, { force: true });
      rmSync(join(this.dir, key), { force: true });
    }
    this.onChange(this.bytes);
  }
}

function keyOf(base: string, target: string): string {
  return `${base}-${target}.vcdiff`;
}

function readRecord(path: string): ImageDeltaInfo | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ImageDeltaInfo>;
    if (typeof parsed.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(parsed.sha256) || typeof parsed.size !== 'number' || typeof parsed.worth !== 'boolean') return undefined;
    return parsed as ImageDeltaInfo;
  } catch {
    return undefined;
  }
}
