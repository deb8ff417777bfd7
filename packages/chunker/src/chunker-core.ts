import { get_chunks as getCuts } from 'fastcdc-wasm';
import { validateParams, type ChunkParams } from './chunk-params.js';

/** Receives each finished chunk. `bytes` is a view that is valid only until the callback returns. */
export type ChunkSink = (offset: number, bytes: Uint8Array) => void;

/**
 * Push-style content-defined chunker over fastcdc-wasm: feed bytes with `push`, then `finish`.
 *
 * fastcdc only sees whole buffers, so the chunk that runs into the end of a buffer may be cut
 * early; it is carried over and cut again with the bytes that follow. A cut found before a buffer's
 * end never depends on later bytes, which makes the cuts identical for any split of the input.
 * Every call into the library gets at most `window` bytes: its offsets go wrong past 2 GiB, and its
 * memory grows to the largest input and never shrinks.
 */
export class ChunkerCore {
  readonly params: ChunkParams;
  private readonly window: Uint8Array;
  private held = 0;
  private consumed = 0;

  constructor(params: ChunkParams, windowBytes = defaultWindow(params)) {
    this.params = validateParams(params);
    if (windowBytes < 2 * this.params.max) throw new RangeError('the chunker window must hold two maximum-size chunks');
    this.window = new Uint8Array(windowBytes);
  }

  /** Bytes handed out as finished chunks so far. */
  get offset(): number {
    return this.consumed;
  }

  push(data: Uint8Array, sink: ChunkSink): void {
    const size = this.window.length;
    let pos = 0;
    while (pos < data.length) {
      if (this.held === 0) {
        const available = data.length - pos;
        if (available < size) {
          this.window.set(data.subarray(pos), 0);
          this.held = available;
          return;
        }
        // Cut straight out of the caller's buffer: no copy for the bulk of the data.
        pos += this.cut(data.subarray(pos, pos + size), sink, false);
      } else {
        const taken = Math.min(size - this.held, data.length - pos);
        this.window.set(data.subarray(pos, pos + taken), this.held);
        this.held += taken;
        pos += taken;
        if (this.held < size) return;
        const done = this.cut(this.window, sink, false);
        const tail = this.held - done;
        if (tail <= taken) {
          // The unfinished tail is also the end of `data`: continue from there without copying.
          this.held = 0;
          pos -= tail;
        } else {
          this.window.copyWithin(0, done, this.held);
          this.held = tail;
        }
      }
    }
  }

  /** Cuts what is held into its final chunks and resets for the next input. */
  finish(sink: ChunkSink): void {
    if (this.held > 0) this.cut(this.window.subarray(0, this.held), sink, true);
    this.held = 0;
    this.consumed = 0;
  }

  /** Emits the chunks of `view` (all of them when `last`, else all but the unfinished final one)
   * and returns how many bytes of `view` they covered. */
  private cut(view: Uint8Array, sink: ChunkSink, last: boolean): number {
    const { min, avg, max } = this.params;
    const cuts = getCuts(view, min, avg, max);
    const end = last ? cuts.length - 1 : cuts.length - 2;
    for (let i = 0; i < end; i++) {
      const start = cuts[i]!;
      sink(this.consumed + start, view.subarray(start, cuts[i + 1]!));
    }
    const covered = end > 0 ? cuts[end]! : 0;
    this.consumed += covered;
    return covered;
  }
}

function defaultWindow(params: ChunkParams): number {
  return Math.max(1024 * 1024, 4 * params.max) + params.max;
}
