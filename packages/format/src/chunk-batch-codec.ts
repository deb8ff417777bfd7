/**
 * Framing of a batched chunk response (`POST /v1/chunks/fetch`), documented in the README:
 *
 *   stream  = "LXCB" frame* trailer
 *   frame   = id (32 bytes) status (u8) length (u32 LE) payload (length bytes)
 *   status  = 0 identity | 1 zstd | 2 missing | 3 delta (see chunk-delta.ts; only for ids the request named bases for)
 *           | 4 redirect (payload: an https or http URL, UTF-8, where the caller GETs the chunk's stored
 *             bytes itself, encoded as that answer's Content-Encoding says; only when the request said
 *             "redirects": true)
 *   trailer = 32 zero bytes, status 255, length 0
 *
 * A stream without its trailer was cut short. The decoder is push-style: feed it whatever the
 * network delivers, in any split; it never trusts a length beyond the largest chunk.
 */
import { ID_BYTES, idFromBytes, idToBytes, type ChunkId } from '@lxchunk/chunker';
import { ProtocolError } from '@lxchunk/errors';
import { MAX_CHUNK_SIZE } from './chunk-codec.js';
import { MAX_DELTA_BASES } from './chunk-delta.js';

export const BATCH_MAGIC = 'LXCB';
export const BATCH_CONTENT_TYPE = 'application/vnd.lxchunk.chunks';
export const FRAME_HEADER_BYTES = ID_BYTES + 1 + 4;
/**
 * Largest payload a frame may announce: the largest chunk (its zstd form is kept only when
 * smaller), plus a delta's list of bases (a delta is sent only when smaller than the chunk).
 */
export const MAX_FRAME_PAYLOAD = MAX_CHUNK_SIZE + 1 + MAX_DELTA_BASES * ID_BYTES;

export const FrameStatus = {
  identity: 0,
  zstd: 1,
  missing: 2,
  delta: 3,
  redirect: 4,
  end: 255,
} as const;
export type FrameStatus = (typeof FrameStatus)[keyof typeof FrameStatus];

export interface ChunkFrame {
  readonly id: ChunkId;
  readonly status: typeof FrameStatus.identity | typeof FrameStatus.zstd | typeof FrameStatus.missing | typeof FrameStatus.delta | typeof FrameStatus.redirect;
  /** Valid only during the callback (it may be a view into the decoder's buffer). */
  readonly payload: Uint8Array;
}

const MAGIC_BYTES = Buffer.from(BATCH_MAGIC, 'ascii');
/** A held buffer above this is for one large frame only. */
const LARGE_HOLD = 1024 * 1024;

/**
 * Length of a whole batch stream of `frames` frames carrying `payloadBytes` in all: what the
 * encoders below produce, so upload limits and transfer estimates count the bytes actually sent.
 */
export function batchStreamBytes(frames: number, payloadBytes: number): number {
  return MAGIC_BYTES.length + frames * FRAME_HEADER_BYTES + payloadBytes + FRAME_HEADER_BYTES;
}

/** Longest URL a redirect frame carries (a presigned object-store URL is well under 2 KiB). */
export const MAX_REDIRECT_URL_BYTES = 8192;

/** A chunk's frame carries at most the largest chunk; only a delta adds its list of bases. */
function maxPayload(status: number): number {
  if (status === FrameStatus.redirect) return MAX_REDIRECT_URL_BYTES;
  return status === FrameStatus.delta ? MAX_FRAME_PAYLOAD : MAX_CHUNK_SIZE;
}

export function encodeBatchStart(): Uint8Array {
  return Uint8Array.from(MAGIC_BYTES);
}

export function encodeFrameHeader(id: ChunkId, status: ChunkFrame['status'], payloadLength: number): Uint8Array {
  if (status === FrameStatus.missing && payloadLength !== 0) throw new RangeError('a missing frame has no payload');
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > maxPayload(status)) {
    throw new RangeError(`frame payload length out of range: ${payloadLength}`);
  }
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  header.set(idToBytes(id), 0);
  header[ID_BYTES] = status;
  new DataView(header.buffer).setUint32(ID_BYTES + 1, payloadLength, true);
  return header;
}

export function encodeBatchEnd(): Uint8Array {
  const trailer = new Uint8Array(FRAME_HEADER_BYTES);
  trailer[ID_BYTES] = FrameStatus.end;
  return trailer;
}

export class ChunkBatchDecoder {
  /** Unparsed bytes live in held[0, heldLength); it grows by doubling, so tiny pieces cost O(1) each. */
  private held: Uint8Array = new Uint8Array(0);
  private heldLength = 0;
  private sawMagic = false;
  private ended = false;
  private frames = 0;

  /** True once the trailer has been read. */
  get complete(): boolean {
    return this.ended;
  }

  get framesDecoded(): number {
    return this.frames;
  }

  /**
   * Bytes the decoder must hold before it can emit its next frame: the whole frame (header and
   * payload) once its header is in, else what it holds so far. A receiver that bounds memory
   * reserves this much before reading on.
   */
  get nextFrameBytes(): number {
    if (!this.sawMagic || this.heldLength < FRAME_HEADER_BYTES || this.held[ID_BYTES] === FrameStatus.end) return this.heldLength;
    return FRAME_HEADER_BYTES + new DataView(this.held.buffer, this.held.byteOffset + ID_BYTES + 1, 4).getUint32(0, true);
  }

  push(bytes: Uint8Array, onFrame: (frame: ChunkFrame) => void): void {
    if (bytes.length === 0) return;
    if (this.ended) throw new ProtocolError('chunk batch: data after the trailer');
    if (this.heldLength === 0) {
      // Common case: parse straight from the caller's buffer and keep only an unfinished frame.
      const used = this.parse(bytes, onFrame);
      this.hold(bytes.subarray(used));
    } else {
      this.hold(bytes);
      const used = this.parse(this.held.subarray(0, this.heldLength), onFrame);
      this.held.copyWithin(0, used, this.heldLength);
      this.heldLength -= used;
    }
    this.fitToNextFrame();
  }

  /**
   * Room for exactly the frame in progress once its header is in: growing by doubling would hold
   * up to twice a large frame. A large buffer is let go once no frame needs it.
   */
  private fitToNextFrame(): void {
    const needed = this.nextFrameBytes;
    if (needed > this.held.length || (this.held.length > LARGE_HOLD && needed <= LARGE_HOLD)) {
      const fitted = new Uint8Array(Math.max(needed, 1024));
      fitted.set(this.held.subarray(0, this.heldLength), 0);
      this.held = fitted;
    }
  }

  /** Call at the end of the stream: a missing trailer means the response was cut short. */
  finish(): void {
    if (!this.ended) {
      throw new ProtocolError(
        `chunk batch ended early after ${this.frames} frame(s)${this.heldLength ? ` and ${this.heldLength} stray byte(s)` : ''}`,
      );
    }
  }

  private hold(bytes: Uint8Array): void {
    const needed = this.heldLength + bytes.length;
    if (needed > this.held.length) {
      const grown = new Uint8Array(Math.max(needed, this.held.length * 2, 1024));
      grown.set(this.held.subarray(0, this.heldLength), 0);
      this.held = grown;
    }
    this.held.set(bytes, this.heldLength);
    this.heldLength = needed;
  }

  /** Emits every complete frame in `buffer` and returns how many bytes were consumed. */
  private parse(buffer: Uint8Array, onFrame: (frame: ChunkFrame) => void): number {
    let pos = 0;
    if (!this.sawMagic) {
      if (buffer.length < MAGIC_BYTES.length) return 0;
      if (!MAGIC_BYTES.equals(buffer.subarray(0, MAGIC_BYTES.length))) throw new ProtocolError('chunk batch: bad magic');
      this.sawMagic = true;
      pos = MAGIC_BYTES.length;
    }
    while (buffer.length - pos >= FRAME_HEADER_BYTES) {
      const status = buffer[pos + ID_BYTES]!;
      const length = new DataView(buffer.buffer, buffer.byteOffset + pos + ID_BYTES + 1, 4).getUint32(0, true);
      if (status === FrameStatus.end) {
        if (length !== 0 || buffer.subarray(pos, pos + ID_BYTES).some((b) => b !== 0)) {
          throw new ProtocolError('chunk batch: malformed trailer');
        }
        pos += FRAME_HEADER_BYTES;
        if (pos !== buffer.length) throw new ProtocolError('chunk batch: data after the trailer');
        this.ended = true;
        return pos;
      }
      if (status !== FrameStatus.identity && status !== FrameStatus.zstd && status !== FrameStatus.missing && status !== FrameStatus.delta && status !== FrameStatus.redirect) {
        throw new ProtocolError(`chunk batch: unknown frame status ${status}`);
      }
      if (length > maxPayload(status)) throw new ProtocolError(`chunk batch: frame announces ${length} bytes`);
      if (status === FrameStatus.missing && length !== 0) throw new ProtocolError('chunk batch: missing frame with a payload');
      if (buffer.length - pos < FRAME_HEADER_BYTES + length) break;
      const id = idFromBytes(buffer.subarray(pos, pos + ID_BYTES));
      const start = pos + FRAME_HEADER_BYTES;
      pos = start + length;
      this.frames++;
      onFrame({ id, status, payload: buffer.subarray(start, pos) });
    }
    return pos;
  }
}
