import express, { Router, type RequestHandler, type Response } from 'express';
import { assertHex64 } from '@lxchunk/chunker';
import { ChunkNotFoundError, isLxchunkError } from '@lxchunk/errors';
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

interface LoadedChunk {
  readonly encoding: 'identity' | 'zstd';
  readonly payload: Uint8Array;
  /** The chunk's verified bytes (the payload itself when identity). */
  readonly plain: Uint8Array;
  readonly public: boolean;
}

/** Frames written per corked group. */
const CORK_FRAMES = 32;

export function chunkRoutes(context: ServerContext): Router {
  const { store, db, config, metrics, keeper } = context;
  const router = Router();
  const json: RequestHandler[] = [declaredBodyLimit(config.limits.maxJsonBytes), express.json({ limit: config.limits.maxJsonBytes })];
  const checkId: RequestHandler = (req, _res, next) => {
    assertHex64(req.params.id, 'chunk id');
    next();
  };
  // Checked before the body is read: an anonymous upload is refused without reading it.
  const pushOnly: RequestHandler = (_req, res, next) => {
    requireScope(principalOf(res), 'push');
    next();
  };

  /** Whether the caller may read chunk `id` (by the images that reference it), and as what. */
  function readableAs(id: string, principal: Principal): 'public' | 'private' | 'none' | undefined {
    const access = db.images.chunkAccess(id);
    // An admin reads every stored chunk, referenced or not: it is who examines a store.
    if (access === 'none' && !hasScope(principal, 'admin')) return undefined;
    if (access === 'private' && !canReadPrivate(principal)) return undefined;
    return access;
  }

  /**
   * A chunk the caller may read, verified against its id. Unreadable and absent look the same:
   * a caller must not learn that private content exists by guessing ids.
   */
  function load(id: string, principal: Principal, acceptZstd: boolean): LoadedChunk | undefined {
    const access = readableAs(id, principal);
    if (!access) return undefined;
    const found = store.readStoredSync(id);
    if (!found) return undefined; // absent, or collected meanwhile
    const { encoding, stored } = found;
    try {
      const plain = decodeChunk(id, encoding, stored);
      const sendZstd = encoding === 'zstd' && acceptZstd;
      return { encoding: sendZstd ? 'zstd' : 'identity', payload: sendZstd ? stored : plain, plain, public: access === 'public' };
    } catch (err) {
      if (!isLxchunkError(err, 'CHUNK_CORRUPT')) throw err;
      metrics.corruptChunks.inc();
      config.logger.error({ id, error: (err as Error).message }, 'corrupt chunk on disk, not served');
      // Moved aside, it is reported missing from now on, so the next push uploads it again.
      void store.quarantine(id).catch((error: unknown) => config.logger.error({ id, error: String(error) }, 'quarantining a corrupt chunk failed'));
      return undefined;
    }
  }

  router.get('/v1/chunks/:id', async (req, res) => {
    const id = req.params.id;
    assertHex64(id, 'chunk id');
    const chunk = load(id, principalOf(res), acceptsEncoding(req.headers['accept-encoding'], 'zstd'));
    if (!chunk) throw new ChunkNotFoundError(id);
    res.set({
      ETag: `"${id}"`,
      'Cache-Control': `${chunk.public ? 'public' : 'private'}, max-age=31536000, immutable`,
      Vary: 'Accept-Encoding, Authorization',
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
    keeper.promise([id]);
    await keeper.settled(id);
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
    // was seen. The filesystem store answers `holds` from a synchronous stat: no need to overlap.
    keeper.promise(unique);
    const missing: string[] = [];
    for (const id of unique) if (!(await keeper.holds(id))) missing.push(id);
    res.json({ missing });
  });

  /**
   * The named bases' bytes, in order, within MAX_DELTA_BASE_BYTES, each verified; one that is
   * gone or corrupt is left out. Only bases the caller may read reach here.
   */
  function loadBases(ids: readonly string[], principal: Principal): DeltaBase[] {
    const bases: DeltaBase[] = [];
    let bytes = 0;
    for (const id of ids) {
      const base = load(id, principal, false);
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
  function deltaFrame(id: string, chunk: LoadedChunk, baseIds: readonly string[], principal: Principal): Uint8Array | undefined {
    if (!context.deltas) return undefined;
    const readable = baseIds.filter((base) => readableAs(base, principal));
    if (readable.length === 0) {
      metrics.deltasDeclined.inc({ reason: 'no_usable_base' });
      return undefined;
    }
    return context.deltas.delta({ id, bytes: chunk.plain }, chunk.payload.length, readable, () => loadBases(readable, principal));
  }

  router.post('/v1/chunks/fetch', ...json, async (req, res) => {
    const principal = principalOf(res);
    const { ids, bases } = parseFetchRequest(req.body, config.limits.maxFetchIds);
    const acceptZstd = acceptsEncoding(req.headers['accept-encoding'], 'zstd');
    res.status(200).set({ 'Content-Type': BATCH_CONTENT_TYPE, 'Cache-Control': 'no-store' });
    // Frames go out corked, a group at a time: one writev per group instead of two writes per chunk.
    res.cork();
    res.write(encodeBatchStart());
    for (let i = 0; i < ids.length; i++) {
      if (res.destroyed) return;
      const id = ids[i]!;
      const chunk = load(id, principal, acceptZstd);
      const baseIds = chunk ? bases?.[id] : undefined;
      const delta = baseIds ? deltaFrame(id, chunk!, baseIds, principal) : undefined;
      if (!chunk) {
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
