import type { ChunkId } from '@lxchunk/chunker';
import { MAX_DELTA_BASES, MAX_DELTA_BASE_BYTES } from '@lxchunk/format';

export interface ChunkRef {
  readonly id: ChunkId;
  readonly length: number;
}

/** Old chunks on each side of a missing chunk's mapped range that are offered too: edits move bytes a little. */
const SLACK_CHUNKS = 1;

/**
 * Which chunks a host holds that a missing chunk most likely replaced, to name as delta bases.
 * A run of missing chunks in the new file sits between two chunks the host has; in an old file
 * (a seed, a seed's content stream) the same two neighbours enclose what the run replaced. A
 * missing chunk is matched to the old chunks at the same relative position in that run (plus
 * SLACK_CHUNKS either side), as `bench/replaced-delta` measured. When only one neighbour is
 * known (at a file's start or end, or across a change of layout), the old run is taken from that
 * side at the new run's length; with none, no bases are named. Nothing is read: the bases are only named, and read (verified) if a delta comes.
 */
export class ReplacedChunks {
  private readonly olds: Array<ReadonlyArray<ChunkRef>> = [];
  /** Where each old chunk first appears: list and position. */
  private readonly where = new Map<ChunkId, { list: number; position: number }>();
  private readonly bases = new Map<ChunkId, readonly ChunkId[]>();

  constructor(olds: ReadonlyArray<ReadonlyArray<ChunkRef>> = []) {
    for (const chunks of olds) this.addOld(chunks);
  }

  /** Another old file's chunks, in order (e.g. a seed's content stream, once it is cut). */
  addOld(chunks: ReadonlyArray<ChunkRef>): void {
    const list = this.olds.push(chunks) - 1;
    chunks.forEach(({ id }, position) => {
      if (!this.where.has(id)) this.where.set(id, { list, position });
    });
  }

  /** Bases named so far (for ids `plan` found a replaced run for). */
  get size(): number {
    return this.bases.size;
  }

  basesFor(id: ChunkId): readonly ChunkId[] | undefined {
    return this.bases.get(id);
  }

  /** Finds bases for the chunks of `target` (a new file, in order) that `lacks` says are missing. */
  plan(target: ReadonlyArray<ChunkRef>, lacks: (id: ChunkId) => boolean): void {
    for (let start = 0; start < target.length; ) {
      if (!lacks(target[start]!.id)) {
        start++;
        continue;
      }
      let end = start;
      while (end < target.length && lacks(target[end]!.id)) end++;
      this.planRun(target.slice(start, end), start > 0 ? target[start - 1]!.id : undefined, end < target.length ? target[end]!.id : undefined);
      start = end;
    }
  }

  private planRun(run: ReadonlyArray<ChunkRef>, before: ChunkId | undefined, after: ChunkId | undefined): void {
    const old = this.oldRun(run, before, after);
    if (!old || old.length === 0) return;
    const newBytes = run.reduce((sum, chunk) => sum + chunk.length, 0);
    const oldBytes = old.reduce((sum, chunk) => sum + chunk.length, 0);
    const oldStarts: number[] = [];
    let offset = 0;
    for (const chunk of old) {
      oldStarts.push(offset);
      offset += chunk.length;
    }
    let at = 0;
    for (const chunk of run) {
      if (!this.bases.has(chunk.id)) {
        const from = (at / newBytes) * oldBytes;
        const to = ((at + chunk.length) / newBytes) * oldBytes;
        this.bases.set(chunk.id, pick(old, oldStarts, from, to));
      }
      at += chunk.length;
    }
  }

  /** The old chunks the run replaced, or undefined when neither neighbour is known. */
  private oldRun(run: ReadonlyArray<ChunkRef>, before: ChunkId | undefined, after: ChunkId | undefined): ReadonlyArray<ChunkRef> | undefined {
    const left = before !== undefined ? this.where.get(before) : undefined;
    const right = after !== undefined ? this.where.get(after) : undefined;
    if (left && right && left.list === right.list && right.position > left.position) {
      return this.olds[left.list]!.slice(left.position + 1, right.position);
    }
    const newBytes = run.reduce((sum, chunk) => sum + chunk.length, 0);
    // No neighbour known: nothing says which old file, let alone where, held these bytes.
    const list = left ? this.olds[left.list]! : right ? this.olds[right.list]! : undefined;
    if (!list) return undefined;
    if (left) {
      // Forward from the left neighbour.
      const from = left.position + 1;
      let end = from;
      for (let bytes = 0; end < list.length && bytes < newBytes; end++) bytes += list[end]!.length;
      return list.slice(from, end);
    }
    // Backward from the right neighbour.
    let from = right!.position;
    for (let bytes = 0; from > 0 && bytes < newBytes; ) bytes += list[--from]!.length;
    return list.slice(from, right!.position);
  }
}

/** The old chunks overlapping [from, to), with slack, within the delta limits, nearest first. */
function pick(old: ReadonlyArray<ChunkRef>, starts: readonly number[], from: number, to: number): ChunkId[] {
  let first = 0;
  while (first < old.length - 1 && starts[first + 1]! <= from) first++;
  let last = first;
  while (last < old.length - 1 && starts[last + 1]! < to) last++;
  first = Math.max(0, first - SLACK_CHUNKS);
  last = Math.min(old.length - 1, last + SLACK_CHUNKS);
  // The middle of the range first, so the limits cut the far edges.
  const middle = (first + last) >> 1;
  const order = [...Array(last - first + 1).keys()].map((i) => first + i).sort((a, b) => Math.abs(a - middle) - Math.abs(b - middle) || a - b);
  const chosen: number[] = [];
  let bytes = 0;
  for (const position of order) {
    if (chosen.length === MAX_DELTA_BASES) break;
    const { length } = old[position]!;
    if (bytes + length > MAX_DELTA_BASE_BYTES) continue;
    chosen.push(position);
    bytes += length;
  }
  // The dictionary keeps file order: zstd favours its end, and order costs nothing.
  return [...new Set(chosen.sort((a, b) => a - b).map((position) => old[position]!.id))];
}
