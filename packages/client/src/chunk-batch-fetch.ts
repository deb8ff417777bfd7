/**
 * `POST /v1/chunks/fetch` for one batch of ids, streamed: frames are decoded as they arrive, every
 * chunk is verified, and the consumer is awaited before more is read. A response that breaks off
 * (no trailer, or a socket error mid-body) is retried for the ids not yet settled.
 */
import { ChunkCorruptError, ProtocolError, abortReason, isLxchunkError } from '@lxchunk/errors';
import {
  BATCH_CONTENT_TYPE,
  CLIENT_ACCEPT_ENCODING,
  ChunkBatchDecoder,
  FrameStatus,
  MAX_DELTA_BASES,
  PROTOCOL_LIMITS,
  decodeChunk,
  decodeDeltaChunk,
  parseDeltaPayload,
  type ChunkFrame,
  type DeltaBaseSource,
  type FetchRequest,
} from '@lxchunk/format';
import { failureInfo, mayRetry, type HttpTransport, type RequestSpec } from './http-transport.js';
import { sleep } from './retry-policy.js';
import { STORED_CHUNK_BODY_LIMIT, storedChunkEncoding } from './stored-chunk-body.js';
import type { OnChunk } from './types.js';

/** The API's limit on ids per fetch request. */
export const MAX_FETCH_IDS = PROTOCOL_LIMITS.maxFetchIds;

export interface BatchFetchContext {
  readonly transport: HttpTransport;
  readonly onChunk: OnChunk;
  readonly signal: AbortSignal;
  readonly timeoutMs?: number;
  /** Offered bases: chunks may then come as deltas against them. */
  readonly deltaBases?: DeltaBaseSource;
  /** Shared by a client's fetches: deltas asked for, received, and whether the server takes bases at all. */
  readonly deltas: DeltaState;
  /** Shared by a client's fetches: whether to ask for redirect frames. */
  readonly redirects: RedirectState;
}

/** Whether this client asks for redirect frames (presigned object-store URLs of private chunks). */
export class RedirectState {
  /**
   * Set once the server refused the "redirects" field (a server older than them), or once a URL it
   * handed out could not be fetched from here (the object store is out of this host's reach):
   * from then on the chunks come through the server.
   */
  off = false;
}

/** A client's delta bookkeeping. */
export class DeltaState {
  /** Set once the server refused a request naming bases (a server older than deltas). */
  unsupported = false;
  /** Chunks received as deltas and decoded. */
  chunksAsDeltas = 0;
  /** Delta frames that could not be used (a base not intact here, or a wrong result): refetched plain. */
  deltasRefetched = 0;
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
  /** Ids whose delta could not be used: asked for again without bases. */
  const plainOnly = new Set<string>();
  let pending: readonly string[] = ids;
  let failures = 0;
  let firstFailure = 0;
  while (pending.length > 0) {
    const round = new BatchRound(pending, corruptOnce, missing, plainOnly);
    try {
      await round.run(ctx);
      // Complete: only the ids whose copy was corrupt are left, asked for once more.
      pending = round.refetch;
      failures = 0;
    } catch (err) {
      if (err instanceof ConsumerFailure) throw err.error;
      if (signal.aborted) throw abortReason(signal);
      if (round.askedRedirects && isLxchunkError(err, 'INVALID_INPUT')) {
        // A server older than redirect frames refuses the field: ask again without it.
        ctx.redirects.off = true;
        pending = round.unsettled();
        continue;
      }
      if (round.namedBases && (isLxchunkError(err, 'INVALID_INPUT') || isLxchunkError(err, 'INVALID_ID'))) {
        // A server older than deltas refuses the "bases" field (INVALID_INPUT), and no server takes
        // bases it finds malformed: ask again without them, as every server understands.
        ctx.deltas.unsupported = true;
        pending = round.unsettled();
        continue;
      }
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

/** A frame read but not yet handed over: verified bytes, or a delta still to decode with local bases. */
type Ready = { id: string; bytes: Uint8Array } | { id: string; delta: { bases: readonly string[]; frame: Uint8Array } } | { id: string; redirect: string };

/** One request for `requested`, and what became of each id. */
class BatchRound {
  /** Frames of requested[0, cursor) have been read. */
  private cursor = 0;
  /** Read but not yet handed to onChunk. */
  private readonly ready: Ready[] = [];
  /** Bases named per id in this round's request. */
  private readonly named = new Map<string, readonly string[]>();
  readonly refetch: string[] = [];
  delivered = 0;
  /** This round's request said it follows redirect frames. */
  askedRedirects = false;

  constructor(
    private readonly requested: readonly string[],
    private readonly corruptOnce: Set<string>,
    private readonly missing: string[],
    private readonly plainOnly: Set<string>,
  ) {}

  get namedBases(): boolean {
    return this.named.size > 0;
  }

  /** Ids that neither reached onChunk nor were answered missing, to ask for again. */
  unsettled(): string[] {
    return [...this.refetch, ...this.ready.map((r) => r.id), ...this.requested.slice(this.cursor)];
  }

  private request(ctx: BatchFetchContext): FetchRequest {
    this.askedRedirects = !ctx.redirects.off;
    const follows = this.askedRedirects ? { redirects: true as const } : {};
    const source = ctx.deltaBases;
    if (!source || ctx.deltas.unsupported) return { ids: this.requested, ...follows };
    const bases: Record<string, readonly string[]> = {};
    for (const id of this.requested) {
      if (this.plainOnly.has(id)) continue;
      const offered = source.basesFor(id)?.filter((base) => base !== id).slice(0, MAX_DELTA_BASES);
      if (!offered || offered.length === 0) continue;
      const unique = [...new Set(offered)];
      bases[id] = unique;
      this.named.set(id, unique);
    }
    return this.named.size > 0 ? { ids: this.requested, bases, ...follows } : { ids: this.requested, ...follows };
  }

  async run(ctx: BatchFetchContext): Promise<void> {
    const spec: RequestSpec = {
      method: 'POST',
      path: '/v1/chunks/fetch',
      headers: { 'content-type': 'application/json', accept: BATCH_CONTENT_TYPE, 'accept-encoding': CLIENT_ACCEPT_ENCODING },
      body: Buffer.from(JSON.stringify(this.request(ctx))),
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
        const next = this.ready[0]!;
        const bytes = 'bytes' in next ? next.bytes : 'delta' in next ? await this.decodeDelta(ctx, next.id, next.delta) : await this.follow(ctx, next.id, next.redirect);
        if (bytes) {
          try {
            await ctx.onChunk(next.id, bytes);
          } catch (err) {
            throw new ConsumerFailure(err);
          }
          this.delivered++;
        }
        this.ready.shift();
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
    if (frame.status === FrameStatus.redirect) {
      if (!this.askedRedirects) throw new ProtocolError(`chunk batch: a redirect for ${frame.id}, which the request did not allow`);
      this.ready.push({ id: frame.id, redirect: Buffer.from(frame.payload).toString('utf8') });
      return;
    }
    if (frame.status === FrameStatus.delta) {
      const delta = parseDeltaPayload(frame.payload);
      const named = this.named.get(frame.id);
      if (!named || delta.bases.some((base) => !named.includes(base))) {
        throw new ProtocolError(`chunk batch: a delta of ${frame.id} against bases the request did not name`);
      }
      this.ready.push({ id: frame.id, delta: { bases: delta.bases, frame: delta.frame.slice() } });
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

  /**
   * A delta decoded with this side's own copies of its bases, verified against the id. A base
   * with no intact copy here, or a result that is not the chunk, sends the id back to be fetched
   * plain (undefined): a delta is an optimisation, never a reason to fail.
   */
  private async decodeDelta(ctx: BatchFetchContext, id: string, delta: { bases: readonly string[]; frame: Uint8Array }): Promise<Uint8Array | undefined> {
    const bases: Uint8Array[] = [];
    for (const base of delta.bases) {
      const bytes = await ctx.deltaBases!.read(base);
      if (!bytes) return this.refetchPlain(ctx, id);
      bases.push(bytes);
    }
    try {
      const bytes = decodeDeltaChunk(id, delta.frame, bases);
      ctx.deltas.chunksAsDeltas++;
      return bytes;
    } catch (err) {
      if (!(err instanceof ChunkCorruptError)) throw err;
      return this.refetchPlain(ctx, id);
    }
  }

  /**
   * A redirected chunk, fetched from the object store's URL and verified against its id. If it
   * cannot be had from there, this host asks for chunks through the server from now on.
   */
  private async follow(ctx: BatchFetchContext, id: string, url: string): Promise<Uint8Array | undefined> {
    try {
      const response = await ctx.transport.getExternal(url, { maxBodyBytes: STORED_CHUNK_BODY_LIMIT, signal: ctx.signal });
      return decodeChunk(id, storedChunkEncoding(response, `redirected chunk ${id}`), response.body);
    } catch (err) {
      if (ctx.signal.aborted) throw abortReason(ctx.signal);
      if (!isLxchunkError(err)) throw err;
      ctx.redirects.off = true;
      this.refetch.push(id);
      return undefined;
    }
  }

  private refetchPlain(ctx: BatchFetchContext, id: string): undefined {
    ctx.deltas.deltasRefetched++;
    this.plainOnly.add(id);
    this.refetch.push(id);
    return undefined;
  }
}
