import { open, type FileHandle } from 'node:fs/promises';
import { chunkId, type ChunkId } from '@lxchunk/chunker';
import { isLxchunkError } from '@lxchunk/errors';
import type { ChunkReader } from '@lxchunk/store';

const READ_AHEAD = 4 * 1024 * 1024;
const WINDOWS = 8;

interface Location {
  readonly file: number;
  readonly offset: number;
  readonly length: number;
}

/**
 * Where chunks can be read without the network: chunk stores (a cache) and byte ranges of local
 * files (seeds, what an interrupted pull had written, the files being pushed). Every read is
 * verified against the id; a range whose bytes no longer match (a corrupt or changed seed) is
 * dropped and reported as absent, so it can never reach an output file.
 */
export class LocalChunks {
  private readonly stores: ChunkReader[] = [];
  private readonly paths: string[] = [];
  private readonly handles = new Map<number, Promise<FileHandle>>();
  private readonly ranges = new Map<ChunkId, Location[]>();
  private corrupt = 0;
  private windows: Array<{ file: number; offset: number; end: number; bytes: Promise<Buffer> }> = [];

  addStore(store: ChunkReader): void {
    this.stores.push(store);
  }

  /** Registers a file's chunks by their ids, lengths and (implied) offsets. */
  addFile(path: string, chunks: ReadonlyArray<{ readonly id: ChunkId; readonly length: number }>): void {
    let offset = 0;
    this.addRanges(
      path,
      chunks.map(({ id, length }) => {
        const range = { id, offset, length };
        offset += length;
        return range;
      }),
    );
  }

  /** Registers chunks at explicit offsets of a file, e.g. the verified ranges of an interrupted pull's output. */
  addRanges(path: string, ranges: ReadonlyArray<{ readonly id: ChunkId; readonly offset: number; readonly length: number }>): void {
    const file = this.paths.push(path) - 1;
    for (const { id, offset, length } of ranges) {
      const known = this.ranges.get(id);
      if (known) known.push({ file, offset, length });
      else this.ranges.set(id, [{ file, offset, length }]);
    }
  }

  /** Local ranges whose bytes did not match their id when read. */
  get corruptRanges(): number {
    return this.corrupt;
  }

  /** Cheap: no bytes are read. A true answer may still fail verification in `read`. */
  async mayHave(id: ChunkId): Promise<boolean> {
    if (this.ranges.has(id)) return true;
    for (const store of this.stores) if (await store.has(id)) return true;
    return false;
  }

  /**
   * The chunk's verified bytes, or undefined when no local source has them intact. File ranges
   * come first: they hold the bulk of a seeded image, and a store lookup that misses costs a
   * failed open per encoding.
   */
  async read(id: ChunkId): Promise<Uint8Array | undefined> {
    const locations = this.ranges.get(id);
    while (locations && locations.length > 0) {
      const location = locations[0]!;
      const bytes = await this.readRange(location);
      if (bytes.length === location.length && chunkId(bytes) === id) return bytes;
      this.corrupt++;
      locations.shift();
    }
    for (const store of this.stores) {
      try {
        return await store.get(id);
      } catch (err) {
        if (isLxchunkError(err, 'CHUNK_NOT_FOUND')) continue;
        if (isLxchunkError(err, 'CHUNK_CORRUPT')) {
          this.corrupt++;
          continue;
        }
        throw err;
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    this.windows = [];
    const handles = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(handles.map(async (handle) => (await handle.catch(() => undefined))?.close()));
  }

  private async readRange(location: Location): Promise<Uint8Array> {
    const { file, offset, length } = location;
    // Chunks are mostly wanted in the order a file holds them, by a few concurrent readers (the
    // batches of a push): read ahead, one read per window, and keep the last few windows. A
    // window is shared while its read is in flight, so concurrent readers do not each read it.
    let window = this.windows.find((w) => w.file === file && offset >= w.offset && offset + length <= w.end);
    if (!window) {
      window = { file, offset, end: offset + Math.max(length, READ_AHEAD), bytes: this.readAt(file, offset, Math.max(length, READ_AHEAD)) };
      this.windows.unshift(window);
      this.windows.length = Math.min(this.windows.length, WINDOWS);
    }
    const bytes = await window.bytes;
    const from = offset - window.offset;
    return bytes.subarray(from, Math.min(from + length, bytes.length));
  }

  private async readAt(file: number, offset: number, length: number): Promise<Buffer> {
    let handle = this.handles.get(file);
    if (!handle) {
      handle = open(this.paths[file]!, 'r');
      this.handles.set(file, handle);
    }
    const bytes = Buffer.allocUnsafe(length);
    const { bytesRead } = await (await handle).read(bytes, 0, length, offset);
    return bytes.subarray(0, bytesRead);
  }
}
