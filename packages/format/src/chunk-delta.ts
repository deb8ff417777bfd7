/**
 * A chunk sent as a delta against chunks the client already holds (`POST /v1/chunks/fetch` with
 * `bases`, frame status `delta`). The payload names the bases the server used, in order, then
 * one zstd frame compressed with their concatenation as a raw dictionary:
 *
 *   payload = count (u8) baseId (32 bytes) × count  zstdFrame
 *
 * The client decodes with its own verified copies of those bases and verifies the result against
 * the chunk's id, as for every chunk: a wrong or corrupt base can only produce a refused chunk.
 */
import { ID_BYTES, assertHex64, chunkId, idFromBytes, idToBytes } from '@lxchunk/chunker';
import { ChunkCorruptError, ProtocolError } from '@lxchunk/errors';
import { MAX_CHUNK_SIZE } from './chunk-codec.js';
import { compressZstdFrame, inflateZstdFrame } from './zstd-frame.js';

/** Bases a client may name for one chunk. */
export const MAX_DELTA_BASES = 8;
/** The bases of one chunk together: the dictionary both ends hold in memory for it. */
export const MAX_DELTA_BASE_BYTES = 8 * 1024 * 1024;
/** zstd level of deltas: level 3 took 2.4 ms for a 1 MiB chunk against its 1 MiB predecessor. */
export const DELTA_ZSTD_LEVEL = 3;
/**
 * A delta is sent only when it is at most this share (percent) of what the plain chunk would
 * cost: below that the client's work (reading bases) is not worth the saving.
 */
export const DELTA_MAX_RATIO_PERCENT = 90;

/** Whether a delta of `deltaBytes` is worth sending instead of a plain answer of `plainBytes`. */
export function deltaPays(deltaBytes: number, plainBytes: number): boolean {
  // Integer arithmetic: the server and an estimate must agree on the boundary.
  return deltaBytes * 100 <= plainBytes * DELTA_MAX_RATIO_PERCENT;
}

export interface DeltaPayload {
  readonly bases: readonly string[];
  /** The zstd frame; a view into the payload. */
  readonly frame: Uint8Array;
}

/** The dictionary of a delta: the bases' bytes in the order the payload names them. */
export function deltaDictionary(bases: readonly Uint8Array[]): Uint8Array {
  return bases.length === 1 ? bases[0]! : Buffer.concat(bases);
}

/** The delta payload of `bytes` against `bases` (ids and their bytes, in order). */
export function encodeDeltaPayload(bytes: Uint8Array, bases: ReadonlyArray<{ id: string; bytes: Uint8Array }>): Uint8Array {
  if (bases.length < 1 || bases.length > MAX_DELTA_BASES) throw new RangeError(`a delta has 1 to ${MAX_DELTA_BASES} bases, got ${bases.length}`);
  const frame = compressZstdFrame(bytes, { level: DELTA_ZSTD_LEVEL, dictionary: deltaDictionary(bases.map((b) => b.bytes)) });
  const payload = new Uint8Array(1 + bases.length * ID_BYTES + frame.length);
  payload[0] = bases.length;
  bases.forEach(({ id }, i) => payload.set(idToBytes(id), 1 + i * ID_BYTES));
  payload.set(frame, 1 + bases.length * ID_BYTES);
  return payload;
}

/** Splits a delta payload; ProtocolError when it is not one. */
export function parseDeltaPayload(payload: Uint8Array): DeltaPayload {
  const count = payload[0] ?? 0;
  if (count < 1 || count > MAX_DELTA_BASES) throw new ProtocolError(`delta frame names ${count} bases`);
  const header = 1 + count * ID_BYTES;
  if (payload.length <= header) throw new ProtocolError('delta frame cut short');
  const bases: string[] = [];
  for (let i = 0; i < count; i++) bases.push(idFromBytes(payload.subarray(1 + i * ID_BYTES, 1 + (i + 1) * ID_BYTES)));
  return { bases, frame: payload.subarray(header) };
}

/**
 * Decodes a delta frame with the bases' bytes (as named, in order) and verifies the result is
 * chunk `id`. Anything wrong is ChunkCorruptError: the caller fetches the chunk plain instead.
 */
export function decodeDeltaChunk(id: string, frame: Uint8Array, bases: readonly Uint8Array[]): Uint8Array {
  assertHex64(id, 'chunk id');
  const bytes = inflateZstdFrame(frame, MAX_CHUNK_SIZE, (reason, cause) => new ChunkCorruptError(id, `delta: ${reason}`, { cause }), deltaDictionary(bases));
  const actual = chunkId(bytes);
  if (actual !== id) throw new ChunkCorruptError(id, `delta decodes to content hashing to ${actual}`);
  return bytes;
}

/**
 * What a fetching side offers to receive deltas: for a chunk it wants, the chunks it holds that it
 * replaced (their ids), and those chunks' bytes, verified, when a delta against them arrives.
 */
export interface DeltaBaseSource {
  /** Base ids to name for `id` (at most MAX_DELTA_BASES are sent), or undefined for none. */
  basesFor(id: string): readonly string[] | undefined;
  /** A base's bytes, verified against its id; undefined when no intact copy can be had. */
  read(id: string): Promise<Uint8Array | undefined>;
}
