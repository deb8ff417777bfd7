import { blake3 } from '@napi-rs/blake-hash';
import { ChunkerCore, type ChunkSink } from './chunker-core.js';
import { validateParams, type ChunkParams } from './chunk-params.js';

/** The lengths of a file's segments, in order, covering it exactly. */
export type SegmentLengths = Iterable<number>;

const U32 = 2 ** 32;

/**
 * Push-style chunker for files made of independent units (the compressed blocks of a squashfs):
 * cuts fall on segment boundaries, so a unit that did not change yields the same chunks wherever
 * it moved.
 *
 * - A segment of at least `params.min` bytes is cut by CDC restarted at its start: its chunks
 *   depend on its own bytes only, and a block that shares a prefix with an old one (xz output of
 *   a file changed near its end) shares its first chunks too.
 * - Smaller segments (small files' blocks, metadata blocks) are grouped so they don't become tiny
 *   chunks: a group ends after a segment whose BLAKE3 falls below `length / min` of the hash range,
 *   so groups average about `min` bytes and end on the same segments in any image holding them.
 *   A group never exceeds `max`.
 *
 * Deterministic: the cuts depend only on the bytes and the segment lengths, never on how the input
 * is split into `push` calls.
 */
export class SegmentedChunkerCore {
  readonly params: ChunkParams;
  private readonly segments: Iterator<number>;
  private readonly inner: ChunkerCore;
  private readonly group: Uint8Array;
  /** Bytes of the current segment still to come; its kind is fixed when it starts. */
  private remaining = 0;
  private large = false;
  private segmentStart = 0;
  private groupLength = 0;
  private groupStart = 0;
  private position = 0;

  constructor(params: ChunkParams, segments: SegmentLengths) {
    this.params = validateParams(params);
    this.segments = segments[Symbol.iterator]();
    this.inner = new ChunkerCore(this.params);
    this.group = new Uint8Array(this.params.max);
  }

  push(data: Uint8Array, sink: ChunkSink): void {
    let pos = 0;
    while (pos < data.length) {
      if (this.remaining === 0) this.startSegment(sink);
      const take = Math.min(this.remaining, data.length - pos);
      const piece = data.subarray(pos, pos + take);
      if (this.large) {
        const base = this.segmentStart;
        this.inner.push(piece, (offset, bytes) => sink(base + offset, bytes));
      } else {
        this.group.set(piece, this.groupLength);
        this.groupLength += take;
      }
      pos += take;
      this.position += take;
      this.remaining -= take;
      if (this.remaining === 0) this.endSegment(sink);
    }
  }

  finish(sink: ChunkSink): void {
    if (this.remaining !== 0) {
      throw new RangeError(`the input ended ${this.remaining} bytes into a segment that starts at ${this.segmentStart}`);
    }
    for (let next = this.segments.next(); !next.done; next = this.segments.next()) {
      if (next.value !== 0) throw new RangeError(`the input ended at ${this.position} with segments left over`);
    }
    this.emitGroup(sink);
  }

  private startSegment(sink: ChunkSink): void {
    let length = 0;
    while (length === 0) {
      const next = this.segments.next();
      if (next.done) throw new RangeError(`the input runs past its segments, which end at ${this.position}`);
      length = next.value;
      if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid segment length ${String(length)}`);
    }
    this.remaining = length;
    this.segmentStart = this.position;
    this.large = length >= this.params.min;
    if (this.large || this.groupLength + length > this.params.max) this.emitGroup(sink);
    if (!this.large && this.groupLength === 0) this.groupStart = this.position;
  }

  private endSegment(sink: ChunkSink): void {
    if (this.large) {
      const base = this.segmentStart;
      this.inner.finish((offset, bytes) => sink(base + offset, bytes));
      return;
    }
    const length = this.position - this.segmentStart;
    const bytes = this.group.subarray(this.groupLength - length, this.groupLength);
    const draw = blake3(bytes).readUInt32LE(0);
    if (draw < Math.floor((length * U32) / this.params.min)) this.emitGroup(sink);
  }

  private emitGroup(sink: ChunkSink): void {
    if (this.groupLength === 0) return;
    sink(this.groupStart, this.group.subarray(0, this.groupLength));
    this.groupLength = 0;
  }
}
