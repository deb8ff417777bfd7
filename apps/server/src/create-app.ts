import express, { type Express } from 'express';
import { NotFoundError } from '@lxchunk/errors';
import { accessLog } from './access-log.js';
import { authenticate } from './authenticate.js';
import { bodyIdleTimeout } from './body-idle-timeout.js';
import { httpErrorHandler } from './http-error-handler.js';
import { methodNotAllowed } from './method-not-allowed.js';
import { adminRoutes } from './routes/admin-routes.js';
import { aliasRoutes } from './routes/alias-routes.js';
import { changeRoutes } from './routes/change-routes.js';
import { chunkRoutes } from './routes/chunk-routes.js';
import { imageRoutes } from './routes/image-routes.js';
import { opsRoutes } from './routes/ops-routes.js';
import { onRequestEnd } from './request-outcome.js';
import type { ServerContext } from './server-context.js';
import { lxdProtocolRoutes } from './lxd-views/lxd-protocol-routes.js';
import { simplestreamsRoutes } from './lxd-views/simplestreams-routes.js';

/** The express application: routes, auth and the error mapping, composed in one place. */
export function createApp(context: ServerContext): Express {
  const app = express();
  app.disable('x-powered-by');
  // Our responses set their own validators; hashing every JSON body for an ETag is wasted work.
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(accessLog(context.config.logger));
  app.use((req, res, next) => {
    onRequestEnd(req, res, ({ route, status, code, seconds, bytesOut }) => {
      context.metrics.requests.inc({ route, method: req.method, status: String(status), code });
      context.metrics.duration.observe({ route, code }, seconds);
      context.metrics.bytesServed.inc({ protocol: protocolOf(req.path) }, bytesOut);
    });
    next();
  });
  app.use(bodyIdleTimeout(context.config.limits.bodyIdleTimeoutMs));
  const ops = opsRoutes(context);
  app.use(ops);
  app.use('/v1', authenticate(context));
  // What stock LXD clients speak, answered from the same images and chunks.
  const { catalog } = context;
  const { simplestreamsDeltaBases, simplestreamsDeltaWaitMs } = context.config;
  const lxdViews = [
    lxdProtocolRoutes(context, catalog),
    simplestreamsRoutes(context, catalog, context.imageDeltas, { deltaBases: simplestreamsDeltaBases, deltaWaitMs: simplestreamsDeltaWaitMs }),
  ];
  const routers = [chunkRoutes(context), imageRoutes(context), aliasRoutes(context), changeRoutes(context), adminRoutes(context), ...lxdViews];
  for (const router of routers) app.use(router);
  app.use(methodNotAllowed([ops, ...routers]));
  app.use((req) => {
    throw new NotFoundError(`no route for ${req.method} ${req.path}`);
  });
  app.use(httpErrorHandler(context.config.logger, context.storage));
  return app;
}

/** Which API a path belongs to, for the bytes-served metric. */
function protocolOf(path: string): string {
  if (path.startsWith('/v1/')) return 'lxchunk';
  if (path === '/1.0' || path.startsWith('/1.0/')) return 'lxd';
  if (path.startsWith('/streams/')) return 'simplestreams';
  return 'other';
}
