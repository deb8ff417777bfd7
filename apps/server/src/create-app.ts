import express, { type Express } from 'express';
import { NotFoundError } from '@lxchunk/errors';
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
import type { ServerContext } from './server-context.js';

/** The express application: routes, auth and the error mapping, composed in one place. */
export function createApp(context: ServerContext): Express {
  const app = express();
  app.disable('x-powered-by');
  // Our responses set their own validators; hashing every JSON body for an ETag is wasted work.
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      context.metrics.requests.inc({ route, method: req.method, status: String(res.statusCode) });
      context.metrics.duration.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });
  app.use(bodyIdleTimeout(context.config.limits.bodyIdleTimeoutMs));
  const ops = opsRoutes(context);
  app.use(ops);
  app.use('/v1', authenticate(context));
  const routers = [chunkRoutes(context), imageRoutes(context), aliasRoutes(context), changeRoutes(context), adminRoutes(context)];
  for (const router of routers) app.use(router);
  app.use(methodNotAllowed([ops, ...routers]));
  app.use((req) => {
    throw new NotFoundError(`no route for ${req.method} ${req.path}`);
  });
  app.use(httpErrorHandler(context.config.log, context.storage));
  return app;
}
