import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Router } from 'express';
import { ImageNotFoundError, NotFoundError } from '@lxchunk/errors';
import { assertHex64 } from '@lxchunk/chunker';
import { authenticate, principalOf } from '../authenticate.js';
import type { Principal, Scope } from '../principal.js';
import type { ServerContext } from '../server-context.js';
import type { ImageCatalog } from './image-catalog.js';
import type { ImageDeltaCache } from './image-delta-cache.js';
import { exportFileName, sendImageFile } from './send-image-files.js';
import { STREAM_FILE_PREFIX, buildProducts, type ProductsOptions } from './simplestreams-products.js';
import { viewCacheControl } from './view-cache-control.js';

const PRODUCTS_PATH = 'streams/v1/images.json';

/** Item file names to the image file role each serves. */
const ITEM_ROLES = { 'lxd.tar.xz': 'metadata', 'root.squashfs': 'rootfs', 'disk-kvm.img': 'rootfs.img', 'lxd_combined.tar.gz': 'unified' } as const;

/**
 * A simplestreams image server (`lxc remote add NAME https://… --protocol simplestreams`): the
 * index, a products file built from the aliases and their history, the image files streamed
 * from chunks, and xdelta3 deltas between an alias's builds, which LXD applies to the image it
 * holds instead of downloading the whole squashfs.
 */
export function simplestreamsRoutes(context: ServerContext, catalog: ImageCatalog, deltas: ImageDeltaCache | undefined, options: Omit<ProductsOptions, 'deltas'>): Router {
  const router = Router();
  router.use('/streams', authenticate(context));
  let listed = false;
  if (deltas) warmDeltasOnAliasMoves(context, catalog, deltas, options, () => listed);

  router.get('/streams/v1/index.json', async (_req, res) => {
    const products = await buildProducts(context.db, catalog, principalOf(res), { ...options, deltaWaitMs: 0, deltas: undefined });
    res.set('Cache-Control', 'no-cache').json({
      format: 'index:1.0',
      index: { images: { datatype: 'image-downloads', path: PRODUCTS_PATH, format: 'products:1.0', products: Object.keys(products).sort() } },
    });
  });

  router.get(`/${PRODUCTS_PATH}`, async (_req, res) => {
    listed = true;
    const products = await buildProducts(context.db, catalog, principalOf(res), { ...options, deltas });
    res.set('Cache-Control', 'no-cache').json({ content_id: 'images', datatype: 'image-downloads', format: 'products:1.0', products });
  });

  router.get(`/${STREAM_FILE_PREFIX}/:fingerprint/:name`, async (req, res) => {
    const { fingerprint, name } = req.params;
    assertHex64(fingerprint, 'image fingerprint');
    const principal = principalOf(res);
    if (!(await catalog.visible(fingerprint, principal))) throw new ImageNotFoundError(fingerprint);
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const signal = AbortSignal.any([gone.signal, context.draining]);
    const manifest = await catalog.manifest(fingerprint);
    const delta = /^delta-([0-9a-f]{64})\.vcdiff$/.exec(name);
    if (delta) {
      const base = delta[1]!;
      // The base must be readable too: a delta tells of its base's bytes.
      const opened = (await catalog.visible(base, principal)) ? await deltas?.open(base, fingerprint) : undefined;
      if (!opened) throw new NotFoundError(`no delta from ${base} to ${fingerprint}`);
      context.metrics.imageDeltasServed.inc();
      // A shared cache may keep it only if anyone may read both ends.
      const bothPublic = manifest.public && (await context.db.images.isPublic(base)) === true;
      res.set({ 'Content-Type': 'application/octet-stream', 'Content-Length': String(opened.info.size), 'Cache-Control': viewCacheControl(bothPublic, context.config.anonymousRead) });
      await pipeline(Readable.from(opened.stream, { objectMode: false }), res);
      return;
    }
    const role = ITEM_ROLES[name as keyof typeof ITEM_ROLES];
    const file = role && manifest.files.find((f) => f.role === role);
    if (!file) throw new NotFoundError(`image ${fingerprint} has no file ${JSON.stringify(name.slice(0, 80))}`);
    await sendImageFile(res, context.store, file.index, exportFileName(fingerprint, file.role), viewCacheControl(manifest.public, context.config.anonymousRead), signal);
  });
  return router;
}

/** Reads everything: the warm-up makes the deltas any caller's listing may want. */
const WARM_UP: Principal = Object.freeze({ name: 'simplestreams delta warm-up', scopes: new Set<Scope>(['read']) });
/** A push moves its aliases one after another: wait for the last before making deltas. */
const SETTLE_MS = 1000;

/**
 * After an alias moves, makes the deltas the next listing will want, so the first hosts to ask
 * (whose listing LXD then keeps for an hour) already get them. Only on a server whose
 * simplestreams listing was asked for since it started: one nobody uses that way spends nothing.
 */
function warmDeltasOnAliasMoves(context: ServerContext, catalog: ImageCatalog, deltas: ImageDeltaCache, options: Omit<ProductsOptions, 'deltas'>, inUse: () => boolean): void {
  const { draining } = context;
  let dirty = false;
  let running = false;
  const warm = async () => {
    running = true;
    try {
      while (dirty && !draining.aborted) {
        dirty = false;
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS).unref());
        await buildProducts(context.db, catalog, WARM_UP, { ...options, deltaWaitMs: Number.MAX_SAFE_INTEGER, deltas }).catch((err: unknown) => {
          if (!draining.aborted) context.config.logger.warn({ error: String(err) }, 'simplestreams delta warm-up failed');
        });
      }
    } finally {
      running = false;
    }
  };
  void (async () => {
    while (!draining.aborted) {
      await context.changes.wait(3_600_000, draining);
      if (draining.aborted || !inUse()) continue;
      dirty = true;
      if (!running) void warm();
    }
  })();
}
