import { assertHex64 } from '@lxchunk/chunker';
import { ChunkCorruptError, ChunkNotFoundError } from '@lxchunk/errors';
import { ChunkEncoder, decodeChunk, verifyChunkBytes } from '@lxchunk/format';
import type { ChunkEncoding, ChunkStat, ChunkStore, PutResult, QuarantineResult, QuarantinedChunk } from './chunk-store.js';

export interface MemoryChunkStoreOptions {
  /**
   * When set, chunks are held zstd-compressed at this level whenever that pays, exactly as
   * FsChunkStore decides, so storedSize matches what a server would hold and send (offline
   * estimates). Unset: everything is held as-is (identity), which is cheapest for tests.
   */
  readonly compressionLevel?: number;
}

export interface MemoryChunkRecord {
  encoding: ChunkEncoding;
  stored: Uint8Array;
  size: number;
}

/**
 * A ChunkStore in memory. It holds its own copies (callers may reuse their buffers) and verifies
 * on put and on every get, like the filesystem store, so it behaves the same in tests.
 */
export class MemoryChunkStore implements ChunkStore {
  /** Protected so a test subclass can damage a record to exercise corruption handling. */
  protected readonly records = new Map<string, MemoryChunkRecord>();
  private readonly quarantined: QuarantinedChunk[] = [];
  private readonly encoder: ChunkEncoder | undefined;

  constructor(options: MemoryChunkStoreOptions = {}) {
    this.encoder = options.compressionLevel === undefined ? undefined : new ChunkEncoder(options.compressionLevel);
  }

  /** Number of chunks held. */
  get size(): number {
    return this.records.size;
  }

  async has(id: string): Promise<boolean> {
    assertHex64(id);
    return this.records.has(id);
  }

  async stat(id: string): Promise<ChunkStat | undefined> {
    assertHex64(id);
    const record = this.records.get(id);
    if (record === undefined) return undefined;
    return { id, size: record.size, storedSize: record.stored.length, encoding: record.encoding };
  }

  async get(id: string): Promise<Uint8Array> {
    assertHex64(id);
    const record = this.records.get(id);
    if (record === undefined) throw new ChunkNotFoundError(id);
    const bytes = decodeChunk(id, record.encoding, record.stored);
    // Identity decoding returns the held buffer itself: hand out a copy, never our record.
    return bytes === record.stored ? bytes.slice() : bytes;
  }

  async put(id: string, bytes: Uint8Array): Promise<PutResult> {
    verifyChunkBytes(id, bytes);
    const existing = this.records.get(id);
    if (existing !== undefined && this.isIntact(id, existing)) {
      return { stored: false, storedSize: existing.stored.length, encoding: existing.encoding };
    }
    if (existing !== undefined) this.moveAside(id, existing);
    const encoded = this.encoder?.encode(bytes) ?? { encoding: 'identity' as const, stored: bytes };
    const stored = encoded.stored === bytes ? bytes.slice() : encoded.stored;
    this.records.set(id, { encoding: encoded.encoding, stored, size: bytes.length });
    return { stored: true, storedSize: stored.length, encoding: encoded.encoding };
  }

  async delete(id: string): Promise<boolean> {
    assertHex64(id);
    return this.records.delete(id);
  }

  async *list(): AsyncIterable<string> {
    // A snapshot: deleting while iterating (GC) must not skip or repeat ids.
    yield* [...this.records.keys()];
  }

  async quarantine(id: string): Promise<QuarantineResult> {
    assertHex64(id);
    const record = this.records.get(id);
    if (record === undefined || this.isIntact(id, record)) return { quarantined: false, storedSize: 0 };
    this.moveAside(id, record);
    return { quarantined: true, storedSize: record.stored.length };
  }

  async *listQuarantined(): AsyncIterable<QuarantinedChunk> {
    yield* [...this.quarantined];
  }

  /** Only the record's description is kept: nobody reads quarantined bytes back from memory. */
  private moveAside(id: string, record: MemoryChunkRecord): void {
    this.records.delete(id);
    this.quarantined.push({ id, encoding: record.encoding, storedSize: record.stored.length, at: Date.now() });
  }

  private isIntact(id: string, record: MemoryChunkRecord): boolean {
    try {
      decodeChunk(id, record.encoding, record.stored);
      return true;
    } catch (err) {
      if (err instanceof ChunkCorruptError) return false;
      throw err;
    }
  }
}
