import { createHash } from 'node:crypto';
import { chunkId, type ChunkSink } from '../src/index.js';

export interface Cut {
  offset: number;
  length: number;
  id: string;
}

/** Feeds `data` to a push-style core in pieces of the given sizes (then the rest) and records the cuts. */
export function cutInPieces(core: { push(data: Uint8Array, sink: ChunkSink): void; finish(sink: ChunkSink): void }, data: Uint8Array, pieces: number[]): Cut[] {
  const cuts: Cut[] = [];
  const sink = (offset: number, bytes: Uint8Array) => cuts.push({ offset, length: bytes.length, id: chunkId(bytes) });
  let pos = 0;
  for (const piece of pieces) {
    core.push(data.subarray(pos, pos + piece), sink);
    pos += piece;
  }
  core.push(data.subarray(pos), sink);
  core.finish(sink);
  return cuts;
}

/** One hash over every cut: pins a whole cut list in a golden vector. */
export function digestCuts(cuts: Cut[]): string {
  const hash = createHash('sha256');
  for (const cut of cuts) hash.update(`${cut.offset}:${cut.length}:${cut.id}\n`);
  return hash.digest('hex');
}
