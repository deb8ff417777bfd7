import express, { Router, type RequestHandler, type Response } from 'express';
import { assertHex64 } from '@lxchunk/chunker';
import { ChunkNotFoundError, crashPoint, isLxchunkError } from '@lxchunk/errors';
import {
  BATCH_CONTENT_TYPE,
  FrameStatus,
  MAX_DELTA_BASE_BYTES,
  acceptsEncoding,
  decodeChunk,
  encodeBatchEnd,
  encodeBatchStart,
  encodeFrameHeader,
  parseFetchRequest,
  parseIdList,
} from '@lxchunk/format';
import { principalOf } from '../authenticate.js';
import { declaredBodyLimit } from '../body-limit.js';
import { chunkBody } from '../chunk-body.js';
import { reserveBodyMemory } from '../reserve-body-memory.js';
import { canReadPrivate, hasScope, requireScope, type Principal } from '../principal.js';
import type { ServerContext } from '../server-context.js';
import { chunkUploadHandler } from './chunk-upload.js';
import type { DeltaBase } from '../delta-maker.js';
import type { ChunkAccess } from '../db/index.js';

interface LoadedChunk {
  readonly encoding: 'identity' | 'zstd';
  readonly payload: Uint8Array;
  /** The chunk's verified bytes (the payload itself when identity). */
  readonly plain: Uint8Array;
  readonly public: boolean;
}

/** Chunks read ahead of the one being sent, in a batched fetch. */
const READ_AHEAD = 16;

/** Frames written per corked group. */
const CORK_FRAMES = 32;

export function chunkRoutes(context: ServerContext): Router {
  const { store, db, config, metrics, keeper } = context;
  const router = Router();
  const json: RequestHandler[] = [declaredBodyLimit(config.limits.maxJsonBytes), express.json({ limit: config.limits.maxJsonBytes })];
  // Private chunks answered with presigned object-store URLs (--redirect-private), when the store signs them.
  const redirects = config.redirectPrivateSeconds > 0 && store.signedUrl ? { signedUrl: store.signedUrl.bind(store) } : undefined;
  const checkId: RequestHandler = (req, _res, next) => {
    assertHex64(req.params.id, 'chunk id');
    next();
  };
  // Checked before the body is read: an anonymous upload is refused without reading it.
  const pushOnly: RequestHandler = (_req, res, next) => {
    requireScope(principalOf(res), 'push');
    next();
  };

  /** Whether the caller may read a chunk of this access (by the images that reference it), and as what. */
  function readable(access: ChunkAccess | undefined, principal: Principal): ChunkAccess | undefined {
    // An admin reads every stored chunk, referenced or not: it is who examines a store.
    if (access === undefined || (access === 'none' && !hasScope(principal, 'admin'))) return undefined;
    if (access === 'private' && !canReadPrivate(principal)) return undefined;
    return access;
  }

  /** `readable` for many chunks, with one metadata query. */
  async function readableMany(ids: readonly string[], principal: Principal): Promise<Map<string, ChunkAccess | undefined>> {
    const access = await db.images.chunkAccessMany([...new Set(ids)]);
    return new Map([...access].map(([id, a]) => [id, readable(a, principal)]));
  }

  /**
   * A chunk the caller may read (`access`, from `readable`), verified against its id. Unreadable
   * and absent look the same: a caller must not learn that private content exists by guessing ids.
   */
  async function load(id: string, access: ChunkAccess | undefined, acceptZstd: boolean): Promise<LoadedChunk | undefined> {
    if (!access) return undefined;
    const found = await store.readStored(id);
    if (!found) return undefined; // absent, or collected meanwhile
    const { encoding, stored } = found;
    try {
      const plain = decodeChunk(id, encoding, stored);
      const sendZstd = encoding === 'zstd' && acceptZstd;
      return { encoding: sendZstd ? 'zstd' : 'identity', payload: sendZstd ? stored : plain, plain, public: access === 'public' };
    } catch (err) {
      if (!isLxchunkError(err, 'CHUNK_CORRUPT')) throw err;
      metrics.corruptChunks.inc();
      config.logger.error({ id, error: (err as Error).message }, 'corrupt chunk in the store, not served');
      // Moved aside, it is reported missing from now on, so the next push uploads it again.
      void store.quarantine(id).catch((error: unknown) => config.logger.error({ id, error: String(error) }, 'quarantining a corrupt chunk failed'));
      return undefined;
    }
  }

  router.get('/v1/chunks/:id', async (req, res) => {
    const id = req.params.id;
    assertHex64(id, 'chunk id');
    const access = readable(await db.images.chunkAccess(id), principalOf(res));
    if (access === 'private' && redirects) {
      // Checked above; the bytes go from the object store to the caller, who verifies them.
      const signed = await redirects.signedUrl(id, config.redirectPrivateSeconds);
      if (!signed) throw new ChunkNotFoundError(id);
      metrics.chunksRedirected.inc();
      res.set({ Location: signed.url, 'Cache-Control': 'private, no-store' }).status(307).end();
      return;
    }
    const chunk = await load(id, access, acceptsEncoding(req.headers['accept-encoding'], 'zstd'));
    if (!chunk) throw new ChunkNotFoundError(id);
    // A public chunk is the same bytes for every caller: a CDN or an nginx cache in front may keep
    // one copy for all (no Vary on Authorization). Not so where anonymous callers are refused.
    const shared = chunk.public && config.anonymousRead;
    res.set({
      ETag: `"${id}"`,
      'Cache-Control': `${shared ? 'public' : 'private'}, max-age=31536000, immutable`,
      Vary: shared ? 'Accept-Encoding' : 'Accept-Encoding, Authorization',
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(chunk.payload.length),
    });
    if (chunk.encoding === 'zstd') res.set('Content-Encoding', 'zstd');
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    metrics.chunksServed.inc();
    metrics.chunkBytesServed.inc(chunk.payload.length);
    res.end(chunk.payload);
  });

  router.put('/v1/chunks/:id', checkId, pushOnly, declaredBodyLimit(config.limits.maxChunkBytes), reserveBodyMemory(context.uploadMemory, config.limits.maxChunkBytes), chunkBody(config.limits.maxChunkBytes), async (req, res) => {
    const id = String(req.params.id);
    const bytes = req.body as Uint8Array;
    // Leased before it is stored, and after any delete of it in progress: GC cannot undo this put.
    if ((await keeper.promise([id])).has(id)) await keeper.settled(id);
    const result = await store.put(id, bytes);
    metrics.chunkBytesReceived.inc(bytes.length);
    if (result.stored) {
      metrics.chunksStored.inc();
      context.storage.wrote();
    }
    res.status(result.stored ? 201 : 200).json({ id, stored: result.stored });
  });

  router.post('/v1/chunks/upload', pushOnly, declaredBodyLimit(config.limits.maxUploadBytes), chunkUploadHandler(context));

  router.post('/v1/chunks/missing', ...json, async (req, res) => {
    requireScope(principalOf(res), 'push');
    const ids = parseIdList(req.body, config.limits.maxMissingIds);
    const unique = [...new Set(ids)];
    // The pusher relies on the present ones until it commits its manifest: lease them all before
    // looking (an absent one's lease is harmless, it expires), so none can be collected after it
    // was seen.
    res.json({ missing: await keeper.missing(unique) });
  });

  /**
   * The named bases' bytes, in order, within MAX_DELTA_BASE_BYTES, each verified; one that is
   * gone or corrupt is left out. Only bases the caller may read reach here.
   */
  async function loadBases(ids: readonly string[], access: ReadonlyMap<string, ChunkAccess | undefined>): Promise<DeltaBase[]> {
    const bases: DeltaBase[] = [];
    let bytes = 0;
    for (const id of ids) {
      const base = await load(id, access.get(id), false);
      if (!base || bytes + base.plain.length > MAX_DELTA_BASE_BYTES) continue;
      bases.push({ id, bytes: base.plain });
      bytes += base.plain.length;
    }
    return bases;
  }

  /**
   * The frame for a chunk asked for with bases: a delta when one is allowed and pays. A base the
   * caller may not read is dropped first, exactly as a plain fetch of it would refuse it, so
   * neither the answer nor the cache entry it comes from depends on content the caller cannot see.
   */
  async function deltaFrame(id: string, chunk: LoadedChunk, baseIds: readonly string[], access: ReadonlyMap<string, ChunkAccess | undefined>): Promise<Uint8Array | undefined> {
    if (!context.deltas) return undefined;
    const usable = baseIds.filter((base) => access.get(base));
    if (usable.length === 0) {
      metrics.deltasDeclined.inc({ reason: 'no_usable_base' });
      return undefined;
    }
    return context.deltas.delta({ id, bytes: chunk.plain }, chunk.payload.length, usable, () => loadBases(usable, access));
  }

  router.post('/v1/chunks/fetch', ...json, async (req, res) => {
    const principal = principalOf(res);
    const { ids, bases, redirects: follows } = parseFetchRequest(req.body, config.limits.maxFetchIds);
    const acceptZstd = acceptsEncoding(req.headers['accept-encoding'], 'zstd');
    const access = await readableMany([...ids, ...Object.values(bases ?? {}).flat()], principal);
    // A private chunk goes as a presigned URL when the server is set to and the client follows
    // them; one asked for as a delta is sent as one (a delta is smaller than any fetch of it).
    const redirected = (id: string) => redirects !== undefined && follows === true && access.get(id) === 'private' && bases?.[id] === undefined;
    // Reads run ahead of the writes (an object store answers each in a round trip); frames go out in order.
    const reads: Promise<LoadedChunk | { readonly url: string } | undefined>[] = [];
    const read = (i: number) => {
      const id = ids[i]!;
      return (reads[i] ??= redirected(id) ? redirects!.signedUrl(id, config.redirectPrivateSeconds) : load(id, access.get(id), acceptZstd));
    };
    // Started early, awaited in order below; a failure surfaces there, not as an unhandled rejection.
    const readAhead = (i: number) => {
      if (i < ids.length) void read(i).catch(() => undefined);
    };
    for (let i = 0; i < READ_AHEAD - 1; i++) readAhead(i);
    res.status(200).set({ 'Content-Type': BATCH_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    // Frames go out corked, a group at a time: one writev per group instead of two writes per chunk.
    res.cork();
    res.write(encodeBatchStart());
    for (let i = 0; i < ids.length; i++) {
      if (res.destroyed) return;
      const id = ids[i]!;
      readAhead(i + READ_AHEAD - 1);
      const found = await read(i);
      delete reads[i];
      const chunk = found && 'url' in found ? undefined : found;
      const baseIds = chunk ? bases?.[id] : undefined;
      const delta = baseIds ? await deltaFrame(id, chunk!, baseIds, access) : undefined;
      if (found && 'url' in found) {
        const url = Buffer.from(found.url, 'utf8');
        res.write(encodeFrameHeader(id, FrameStatus.redirect, url.length));
        res.write(url);
        metrics.chunksRedirected.inc();
      } else if (!chunk) {
        res.write(encodeFrameHeader(id, FrameStatus.missing, 0));
      } else if (delta) {
        res.write(encodeFrameHeader(id, FrameStatus.delta, delta.length));
        res.write(delta);
        metrics.chunksServed.inc();
        metrics.chunkBytesServed.inc(delta.length);
        metrics.deltasServed.inc();
        metrics.deltaBytesServed.inc(delta.length);
      } else {
        res.write(encodeFrameHeader(id, chunk.encoding === 'zstd' ? FrameStatus.zstd : FrameStatus.identity, chunk.payload.length));
        res.write(chunk.payload);
        metrics.chunksServed.inc();
        metrics.chunkBytesServed.inc(chunk.payload.length);
      }
      crashPoint('serve.fetch');
      if ((i + 1) % CORK_FRAMES === 0) {
        res.uncork();
        if (res.writableNeedDrain && !(await drained(res))) return;
        res.cork();
      }
    }
    res.uncork();
    res.end(encodeBatchEnd());
  });

  return router;
}

/** Waits until the socket buffer has room again; false once the client is gone. */
function drained(res: Response): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const settle = (open: boolean) => () => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(open);
    };
    const onDrain = settle(true);
    const onClose = settle(false);
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}
