import { Router, type Request } from 'express';
import { AliasNotFoundError, NotFoundError } from '@lxchunk/errors';
import { validateAliasName } from '@lxchunk/format';
import { authenticate, principalOf } from '../authenticate.js';
import type { ImageSummary } from '../db/image-repo.js';
import type { ServerContext } from '../server-context.js';
import type { ImageCatalog } from './image-catalog.js';
import { httpErrorHandler } from '../http-error-handler.js';
import { lxdErrorBody, lxdSync } from './lxd-envelope.js';
import { exportFileName, sendImageExport } from './send-image-files.js';
import { viewCacheControl } from './view-cache-control.js';

/** Go's zero time: what LXD sends for dates it does not have. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/**
 * The read-only part of LXD's REST API that a public image server answers
 * (`lxc remote add NAME https://… --public`, `lxc image copy NAME:ALIAS local:`): the server, its
 * images and aliases, and an image's files. The daemon copying an image calls exactly these
 * (canonical/lxd lxd/daemon_images.go, client/lxd_images.go). Everything else under /1.0 is 404.
 */
export function lxdProtocolRoutes(context: ServerContext, catalog: ImageCatalog): Router {
  const router = Router();
  router.use('/1.0', authenticate(context));

  router.get('/1.0', (_req, res) => {
    lxdSync(res, {
      // No extensions: clients then use only the calls every LXD server has (no filtering, no projects).
      api_extensions: [],
      api_status: 'stable',
      api_version: '1.0',
      auth: 'untrusted',
      public: true,
      auth_methods: ['tls'],
      environment: { server: 'lxchunk', server_name: 'lxchunk' },
    });
  });

  router.get('/1.0/images', async (req, res) => {
    const images = await catalog.list(principalOf(res));
    lxdSync(res, recursive(req) ? images.map(lxdImage) : images.map((image) => `/1.0/images/${image.fingerprint}`));
  });

  router.get('/1.0/images/aliases', async (req, res) => {
    // One listing of what the caller may read gives each alias's visibility and type.
    const visible = new Map((await catalog.list(principalOf(res))).map((image) => [image.fingerprint, image.type]));
    const aliases = [];
    for (const alias of await context.db.aliases.list()) {
      const type = visible.get(alias.target);
      if (type) aliases.push({ ...alias, type });
    }
    lxdSync(res, recursive(req) ? aliases.map(lxdAlias) : aliases.map((alias) => `/1.0/images/aliases/${alias.name.split('/').map(encodeURIComponent).join('/')}`));
  });

  // LXD clients escape the name's '/' (url.PathEscape); a plain one is taken too.
  router.get('/1.0/images/aliases/*name', async (req, res) => {
    const name = validateAliasName((req.params as { name: string[] }).name.join('/'));
    const alias = await context.db.aliases.get(name);
    // The alias's type is its image's: the daemon asks for an alias of the type it wants.
    const image = alias ? await catalog.get(alias.target, principalOf(res)) : undefined;
    if (!alias || !image) throw new AliasNotFoundError(name);
    lxdSync(res, lxdAlias({ ...alias, type: image.type }));
  });

  router.get('/1.0/images/:fingerprint', async (req, res) => {
    lxdSync(res, lxdImage(await catalog.find(req.params.fingerprint, principalOf(res))));
  });

  router.get('/1.0/images/:fingerprint/export', async (req, res) => {
    const image = await catalog.find(req.params.fingerprint, principalOf(res));
    const manifest = await catalog.manifest(image.fingerprint);
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    await sendImageExport(res, context.store, manifest, viewCacheControl(image.public, context.config.anonymousRead), AbortSignal.any([gone.signal, context.draining]));
  });

  router.all('/1.0/*rest', (req) => {
    throw new NotFoundError(`this image server answers only image reads, not ${req.method} ${req.path}`);
  });
  router.use('/1.0', httpErrorHandler(context.config.logger, context.storage, lxdErrorBody));
  return router;
}

function recursive(req: Request): boolean {
  return typeof req.query.recursion === 'string' && req.query.recursion !== '0';
}

function lxdAlias(alias: { name: string; target: string; description: string; type: string }) {
  return { name: alias.name, description: alias.description, target: alias.target, type: alias.type };
}

/** An image as LXD's api.Image describes it. */
function lxdImage(image: ImageSummary) {
  return {
    aliases: image.aliases.map((name) => ({ name, description: '' })),
    architecture: image.architecture,
    auto_update: false,
    cached: false,
    created_at: image.created,
    expires_at: ZERO_TIME,
    filename: exportFileName(image.fingerprint, 'metadata'),
    fingerprint: image.fingerprint,
    last_used_at: ZERO_TIME,
    profiles: ['default'],
    properties: image.properties,
    public: image.public,
    size: image.size,
    type: image.type,
    uploaded_at: new Date(image.pushedAt).toISOString(),
  };
}
