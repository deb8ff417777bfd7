import type { RequestHandler } from 'express';
import { BATCH_CONTENT_TYPE, ChunkBatchDecoder, FRAME_HEADER_BYTES, FrameStatus, type ChunkFrame } from '@lxchunk/format';
import { InvalidInputError, PayloadTooLargeError, isLxchunkError } from '@lxchunk/errors';
import { pausingBodyTimeout } from '../body-idle-timeout.js';
import { inflateUploadedChunk } from '../chunk-body.js';
import { contentEncoding } from '../content-encoding.js';
import type { ServerContext } from '../server-context.js';

interface UploadedChunk {
  readonly id: string;
  readonly bytes: Uint8Array;
  /** What it holds of the memory budget until stored. */
  readonly frameBytes: number;
}

/** Puts in flight per request: enough to overlap the store's file-system round trips. */
const PUTS_IN_FLIGHT = 8;

export interface UploadReport {
  /** Frames in the batch. */
  readonly chunks: number;
  /** Chunks that were new to the store. */
  readonly stored: number;
}

/**
 * `POST /v1/chunks/upload`: many chunks in one request, framed like a fetch response (identity or
 * zstd frames, then the trailer). One request, one auth check and one lease transaction for the
 * whole batch, where a PUT per chunk pays each of them per chunk. Every chunk is verified against
 * its id before it is stored; a bad one fails the request with its error. Other chunks of the
 * batch may have been stored meanwhile (puts overlap): each of those is whole and verified, and
 * leased like any upload.
 */
export function chunkUploadHandler(context: ServerContext): RequestHandler {
  const { store, config, metrics, keeper, uploadMemory } = context;
  const { maxUploadBytes, maxUploadChunks } = config.limits;
  return async (req, res) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== BATCH_CONTENT_TYPE) throw new InvalidInputError(`an upload batch is ${BATCH_CONTENT_TYPE}, not ${JSON.stringify(type)}`);
    // Frames carry their own zstd; a compressed batch would be read as garbage frames.
    contentEncoding(req, ['identity']);
    const decoder = new ChunkBatchDecoder();
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let received = 0;
    let chunks = 0;
    let stored = 0;
    // Memory: what this request holds from the shared budget, and what it needs: the frames being
    // stored plus the whole next frame, taken as soon as its header is in and before its payload
    // is read. Reserving whole frames means a waiting request holds no half-read frame, so
    // requests cannot each hold part of the budget and wait forever for the rest.
    let reserved = 0;
    let asked = 0;
    let storing = 0;
    const needed = () => storing + decoder.nextFrameBytes;
    // Idempotent: the response may close before the handler is done with the body.
    let done = false;
    const releaseAll = () => {
      uploadMemory.release(reserved);
      reserved = 0;
    };
    // A response sent before the body ended (a 408, a 503) can leave the body iterator waiting for
    // bytes that never come: give the memory back at once and stop reading.
    const gone = new AbortController();
    res.once('close', () => {
      gone.abort(new Error('the response closed before the upload was read'));
      if (done) return;
      releaseAll();
      req.destroy();
    });
    // Puts finishing during a wait give their bytes back at once: holding them while asking for
    // more could leave two requests each waiting for what the other holds.
    const giveBack = () => {
      const excess = Math.min(reserved, reserved + asked - needed());
      if (excess <= 0) return;
      reserved -= excess;
      uploadMemory.release(excess);
    };
    // A frame's payload is a view of the decoder's buffer: copied (or inflated) before push returns.
    const accept = (frame: ChunkFrame): UploadedChunk => {
      if (++chunks > maxUploadChunks) throw new PayloadTooLargeError(`an upload batch holds at most ${maxUploadChunks} chunks`);
      if (frame.status === FrameStatus.missing) throw new InvalidInputError(`upload frame for ${frame.id} has no chunk`);
      const bytes = frame.status === FrameStatus.zstd ? inflateUploadedChunk(frame.id, frame.payload) : frame.payload.slice();
      const frameBytes = FRAME_HEADER_BYTES + frame.payload.length;
      storing += frameBytes;
      return { id: frame.id, bytes, frameBytes };
    };
    const put = ({ id, bytes, frameBytes }: UploadedChunk, claimed: ReadonlySet<string>) => {
      // After any delete of this id in progress: GC cannot undo the put (the lease is already taken).
      const task = (claimed.has(id) ? keeper.settled(id) : Promise.resolve()).then(() => store.put(id, bytes)).then(
        (result) => {
          metrics.chunkBytesReceived.inc(bytes.length);
          if (result.stored) {
            stored++;
            metrics.chunksStored.inc();
            context.storage.wrote();
          }
        },
        (err: unknown) => {
          failure ??= err;
        },
      );
      inFlight.add(task);
      void task.finally(() => {
        inFlight.delete(task);
        storing -= frameBytes;
        giveBack();
      });
    };
    try {
      for await (const piece of req as AsyncIterable<Buffer>) {
        received += piece.length;
        if (received > maxUploadBytes) throw new PayloadTooLargeError(`an upload batch is at most ${maxUploadBytes} bytes`);
        const arrived: UploadedChunk[] = [];
        decoder.push(piece, (frame) => arrived.push(accept(frame)));
        // Leased before they are stored (one transaction for the piece's chunks): from the moment
        // a chunk is on disk until a manifest references it, GC keeps it.
        const claimed = arrived.length > 0 ? await keeper.promise(arrived.map((chunk) => chunk.id)) : new Set<string>();
        for (const chunk of arrived) put(chunk, claimed);
        if (needed() > reserved) {
          asked = needed() - reserved;
          try {
            await pausingBodyTimeout(req, () => uploadMemory.acquire(asked, gone.signal));
            reserved += asked;
          } finally {
            asked = 0;
          }
          giveBack();
        }
        if (inFlight.size >= PUTS_IN_FLIGHT) {
          await pausingBodyTimeout(req, async () => {
            while (inFlight.size >= PUTS_IN_FLIGHT) await Promise.race(inFlight);
          });
        }
        if (failure) throw failure;
      }
      decoder.finish();
      await Promise.all(inFlight);
      if (failure) throw failure;
    } catch (err) {
      // Body bytes may be left unread: do not reuse this connection (if an answer is still possible).
      if (!res.headersSent) res.set('Connection', 'close');
      await Promise.all(inFlight);
      // Answered already (a 408) or the client hung up: nobody is left to tell.
      if (gone.signal.aborted) return;
      throw isLxchunkError(err, 'PROTOCOL_ERROR') ? new InvalidInputError(`malformed upload batch: ${(err as Error).message}`, { cause: err }) : err;
    } finally {
      done = true;
      releaseAll();
    }
    const report: UploadReport = { chunks, stored };
    res.status(200).json(report);
  };
}
