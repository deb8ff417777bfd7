/**
 * `POST /v1/chunks/fetch` for one batch of ids, streamed: frames are decoded as they arrive, every
 * chunk is verified, and the consumer is awaited before more is read. A response that breaks off
 * (no trailer, or a socket error mid-body) is retried for the ids not yet settled.
 */
import { ChunkCorruptError, ProtocolError } from '@lxchunk/errors';
import { BATCH_CONTENT_TYPE, CLIENT_ACCEPT_ENCODING, ChunkBatchDecoder, FrameStatus, PROTOCOL_LIMITS, decodeChunk, type ChunkFrame } from '@lxchunk/format';
import { failureInfo, mayRetry, type HttpTransport, type RequestSpec } from './http-transport.js';
import { abortReason, sleep } from './retry-policy.js';
import type { OnChunk } from './types.js';

/** The API's limit on ids per fetch request. */
export const MAX_FETCH_IDS = PROTOCOL_LIMITS.maxFetchIds;

export interface BatchFetchContext {
  readonly transport: HttpTransport;
  readonly onChunk: OnChunk;
  readonly signal: AbortSignal;
  readonly timeoutMs?: number;
}

/** Marks an error thrown by the caller's onChunk: never retried, passed through as is. */
class ConsumerFailure {
  constructor(readonly error: unknown) {}
}

/**
 * Fetches `ids` (unique, at most MAX_FETCH_IDS) and returns those the server answered as missing.
 * Each delivered id reaches onChunk exactly once, verified.
 */
export async function fetchBatch(ctx: BatchFetchContext, ids: readonly string[]): Promise<string[]> {
  const { transport, signal } = ctx;
  const missing: string[] = [];
  /** Ids whose bytes failed verification once: the next bad copy is an error, not a retry. */
  const corruptOnce = new Set<string>();
  let pending: readonly string[] = ids;
  let failures = 0;
  let firstFailure = 0;
  while (pending.length > 0) {
    const round = new BatchRound(pending, corruptOnce, missing);
    try {
      await round.run(ctx);
      // Complete: only the ids whose copy was corrupt are left, asked for once more.
      pending = round.refetch;
      failures = 0;
    } catch (err) {
      if (err instanceof ConsumerFailure) throw err.error;
      if (signal.aborted) throw abortReason(signal);
      if (!isRetryableBreak(err)) throw err;
      // Failures in a row count against the retry budget; a round that delivered something
      // starts the count and the window afresh (every such round settles ids, so this cannot go on forever).
      failures = round.delivered > 0 ? 1 : failures + 1;
      if (failures === 1) firstFailure = Date.now();
      const delay = transport.policy.nextDelay(failures, Date.now() - firstFailure, failureInfo(err)?.retryAfterMs);
      if (delay === undefined) throw err;
      pending = round.unsettled();
      await sleep(delay, signal);
    }
  }
  return missing;
}

/** A stream cut short, a network failure, or an overloaded or unreachable server. */
function isRetryableBreak(err: unknown): boolean {
  return err instanceof StreamCutShort || mayRetry(err, 'idempotent');
}

class StreamCutShort extends ProtocolError {}

/** One request for `requested`, and what became of each id. */
class BatchRound {
  /** Frames of requested[0, cursor) have been read. */
  private cursor = 0;
  /** Decoded but not yet handed to onChunk. */
  private readonly ready: { id: string; bytes: Uint8Array }[] = [];
  readonly refetch: string[] = [];
  delivered = 0;

  constructor(
    private readonly requested: readonly string[],
    private readonly corruptOnce: Set<string>,
    private readonly missing: string[],
  ) {}

  /** Ids that neither reached onChunk nor were answered missing, to ask for again. */
  unsettled(): string[] {
    return [...this.refetch, ...this.ready.map((r) => r.id), ...this.requested.slice(this.cursor)];
  }

  async run(ctx: BatchFetchContext): Promise<void> {
    const spec: RequestSpec = {
      method: 'POST',
      path: '/v1/chunks/fetch',
      headers: { 'content-type': 'application/json', accept: BATCH_CONTENT_TYPE, 'accept-encoding': CLIENT_ACCEPT_ENCODING },
      body: Buffer.from(JSON.stringify({ ids: this.requested })),
      retry: 'idempotent',
      signal: ctx.signal,
      ...(ctx.timeoutMs !== undefined ? { timeoutMs: ctx.timeoutMs } : {}),
    };
    const response = await ctx.transport.open(spec);
    const contentType = String(response.headers['content-type'] ?? '');
    if (response.status !== 200 || contentType.split(';')[0]!.trim() !== BATCH_CONTENT_TYPE) {
      throw new ProtocolError(
        `POST ${ctx.transport.url(spec)}: expected 200 ${BATCH_CONTENT_TYPE}, got ${response.status} ${contentType || '(no content type)'}`,
      );
    }
    const decoder = new ChunkBatchDecoder();
    const onFrame = (frame: ChunkFrame) => this.take(frame);
    for await (const piece of response.body) {
      decoder.push(piece, onFrame);
      // Awaiting the consumer here stops reading the body: backpressure down to the socket.
      while (this.ready.length > 0) {
        const { id, bytes } = this.ready[0]!;
        try {
          await ctx.onChunk(id, bytes);
        } catch (err) {
          throw new ConsumerFailure(err);
        }
        this.ready.shift();
        this.delivered++;
      }
    }
    try {
      decoder.finish();
    } catch (err) {
      throw new StreamCutShort(`POST ${ctx.transport.url(spec)}: ${(err as Error).message}`, { cause: err });
    }
    if (this.cursor !== this.requested.length) {
      throw new ProtocolError(`chunk batch: ${this.cursor} frame(s) for ${this.requested.length} requested id(s)`);
    }
  }

  /** Runs inside the decoder's callback: the payload must be consumed (decoded or copied) now. */
  private take(frame: ChunkFrame): void {
    const expected = this.requested[this.cursor];
    if (frame.id !== expected) {
      throw new ProtocolError(`chunk batch: frame ${this.cursor} is for ${frame.id}, expected ${expected ?? 'the trailer'}`);
    }
    this.cursor++;
    if (frame.status === FrameStatus.missing) {
      this.missing.push(frame.id);
      return;
    }
    try {
      const bytes =
        frame.status === FrameStatus.zstd
          ? decodeChunk(frame.id, 'zstd', frame.payload)
          : decodeChunk(frame.id, 'identity', frame.payload.slice());
      this.ready.push({ id: frame.id, bytes });
    } catch (err) {
      if (!(err instanceof ChunkCorruptError) || this.corruptOnce.has(frame.id)) throw err;
      this.corruptOnce.add(frame.id);
      this.refetch.push(frame.id);
    }
  }
}
