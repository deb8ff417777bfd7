import { open, stat, type FileHandle } from 'node:fs/promises';
import { chunkId, type ChunkId, type Sha256Handle, type Sha256Sink } from '@lxchunk/chunker';
import { IoError, withIoError } from '@lxchunk/errors';
import { chunkOffsets, type ChunkIndex } from '@lxchunk/format';
import { PRIVATE_FILE_MODE } from '@lxchunk/store';
import { writeFully } from './write-fully.js';

export interface Placement {
  readonly id: ChunkId;
  readonly offset: number;
  readonly length: number;
}

const READ_BLOCK = 8 * 1024 * 1024;

/**
 * A file being assembled in place: chunks are written at their offsets as they arrive, in any
 * order, so a fetched chunk is written once and never staged. The file lives under a temporary
 * name until the caller has checked its sha256. An interrupted pull leaves it behind; opening it
 * again reads it once and keeps every range that still matches its id, so a retry fetches only
 * the rest and never trusts bytes it has not verified.
 */
export class PartialFile {
  /** Every chunk position of the index, in file order. */
  readonly placements: readonly Placement[];
  /** Per position: its bytes are on disk and verified. */
  private readonly done: boolean[];
  private pending: { offset: number; parts: Uint8Array[]; length: number } | undefined;
  /** Writes under way: a flush waits for them all, not only for the one it starts. */
  private readonly writing = new Set<Promise<void>>();

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    readonly index: ChunkIndex,
    placements: Placement[],
    done: boolean[],
  ) {
    this.placements = placements;
    this.done = done;
  }

  /** Opens (or creates) the file at `path` for `index`, keeping the verified ranges of an earlier attempt. */
  static async open(path: string, index: ChunkIndex, signal?: AbortSignal): Promise<PartialFile> {
    const offsets = chunkOffsets(index);
    const placements = index.chunks.map(({ id, length }, position): Placement => ({ id, offset: offsets[position]!, length }));
    return withIoError(`opening ${path}`, async () => {
      const existing = await stat(path).catch(() => undefined);
      const handle = await open(path, existing ? 'r+' : 'w+', PRIVATE_FILE_MODE);
      try {
        const done = existing ? await verifiedPositions(handle, placements, existing.size, signal) : placements.map(() => false);
        await handle.truncate(index.size);
        return new PartialFile(path, handle, index, placements, done);
      } catch (err) {
        await handle.close();
        throw err;
      }
    });
  }

  isDone(position: number): boolean {
    return this.done[position]!;
  }

  /** Positions verified on disk from an earlier attempt, which can serve as local chunk sources. */
  doneRanges(): Placement[] {
    return this.placements.filter((_, position) => this.done[position]);
  }

  /** Writes verified bytes at a position. Consecutive positions are gathered into one write. */
  async write(position: number, bytes: Uint8Array): Promise<void> {
    const { offset } = this.placements[position]!;
    this.done[position] = true;
    const pending = this.pending;
    if (pending && pending.offset + pending.length === offset && pending.length + bytes.length <= READ_BLOCK) {
      pending.parts.push(bytes);
      pending.length += bytes.length;
      return;
    }
    // Swap before awaiting: callers from concurrent fetches must never lose each other's bytes.
    this.pending = { offset, parts: [bytes], length: bytes.length };
    if (pending) await this.writeOut(pending);
  }

  /** Every write made so far is on disk once this resolves (also those other callers started). */
  async flush(): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) await this.writeOut(pending);
    // Another caller's write may still be under way: a read issued now could miss its bytes.
    if (this.writing.size > 0) await Promise.all(this.writing);
  }

  private async writeOut({ parts, offset }: { parts: Uint8Array[]; offset: number }): Promise<void> {
    const write = withIoError(`writing ${this.path}`, () => writeFully(this.handle, parts, offset));
    this.writing.add(write);
    try {
      await write;
    } finally {
      this.writing.delete(write);
    }
  }

  /** Bytes [offset, offset + length) as on disk (pending writes flushed first); the caller knows they are done. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    await this.flush();
    const bytes = Buffer.allocUnsafe(length);
    const { bytesRead } = await withIoError(`reading ${this.path}`, () => this.handle.read(bytes, 0, length, offset));
    if (bytesRead !== length) throw new IoError(`${this.path} is shorter than the chunks written to it`);
    return bytes;
  }

  /** Every position written or verified. */
  get complete(): boolean {
    return this.done.every(Boolean);
  }

  /**
   * One sequential pass over the whole file: every position not yet done takes its bytes from
   * `source` (verified by the caller), and every byte, in order, goes to the sha256 states, the
   * positions done before read back from disk, so what is checked is what is on disk. Blocks are
   * written before they are handed to the sink, which may take them to another thread.
   */
  async fill(
    source: (position: number) => Promise<Uint8Array>,
    sha256: Sha256Sink,
    handles: readonly Sha256Handle[],
    onBytes?: (bytes: number) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    await this.flush();
    const { placements, done } = this;
    let position = 0;
    while (position < placements.length) {
      signal?.throwIfAborted();
      const start = placements[position]!.offset;
      const end = blockEnd(placements, position);
      const length = endOf(placements[end - 1]!) - start;
      const block = Buffer.allocUnsafeSlow(length);
      let filled = false;
      for (let p = position; p < end; ) {
        const { offset } = placements[p]!;
        if (done[p]) {
          let q = p;
          while (q < end && done[q]) q++;
          const runLength = endOf(placements[q - 1]!) - offset;
          const { bytesRead } = await withIoError(`reading ${this.path}`, () => this.handle.read(block, offset - start, runLength, offset));
          if (bytesRead !== runLength) throw new IoError(`${this.path} is shorter than the chunks written to it`);
          p = q;
        } else {
          block.set(await source(p), offset - start);
          done[p] = true;
          filled = true;
          p++;
        }
      }
      if (filled) await withIoError(`writing ${this.path}`, () => writeFully(this.handle, [block.subarray(0, length)], start));
      await sha256.update(handles, block);
      onBytes?.(length);
      position = end;
    }
  }

  async sync(): Promise<void> {
    await this.flush();
    await withIoError(`syncing ${this.path}`, () => this.handle.sync());
  }

  async close(): Promise<void> {
    // Unflushed bytes are verified chunks: keep them for a retry.
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }
}

/** Reads an earlier attempt's file once and marks the positions whose bytes match their id. */
async function verifiedPositions(handle: FileHandle, placements: readonly Placement[], size: number, signal?: AbortSignal): Promise<boolean[]> {
  const done = placements.map(() => false);
  let position = 0;
  while (position < placements.length) {
    signal?.throwIfAborted();
    const start = placements[position]!.offset;
    if (start >= size) break;
    const end = blockEnd(placements, position);
    const length = endOf(placements[end - 1]!) - start;
    const block = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(block, 0, length, start);
    for (let p = position; p < end; p++) {
      const { id, offset, length: chunkLength } = placements[p]!;
      const from = offset - start;
      if (from + chunkLength > bytesRead) break;
      done[p] = chunkId(block.subarray(from, from + chunkLength)) === id;
    }
    position = end;
  }
  return done;
}

/** The end of a block of whole chunks from `position`: as many as fit in READ_BLOCK, at least one. */
function blockEnd(placements: readonly Placement[], position: number): number {
  let end = position;
  let length = 0;
  while (end < placements.length && (end === position || length + placements[end]!.length <= READ_BLOCK)) length += placements[end++]!.length;
  return end;
}

function endOf({ offset, length }: Placement): number {
  return offset + length;
}
