import { Router } from 'express';
import { principalOf } from '../authenticate.js';
import { requireScope } from '../principal.js';
import type { ServerContext } from '../server-context.js';
import { serverGc } from '../server-gc.js';
import { booleanQuery } from './boolean-query.js';
import { verifyHandler } from './verify-handler.js';

export function adminRoutes(context: ServerContext): Router {
  const router = Router();

  router.post('/v1/gc', async (req, res) => {
    requireScope(principalOf(res), 'admin');
    const dryRun = booleanQuery(req.query.dryRun, 'dryRun');
    res.json(await serverGc(context, dryRun));
  });

  router.post('/v1/admin/verify', verifyHandler(context));

  return router;
}
