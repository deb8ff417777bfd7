import { Router } from 'express';
import { principalOf } from '../authenticate.js';
import { collectGarbage } from '../garbage-collector.js';
import { requireScope } from '../principal.js';
import type { ServerContext } from '../server-context.js';
import { booleanQuery } from './boolean-query.js';
import { verifyHandler } from './verify-handler.js';

export function adminRoutes(context: ServerContext): Router {
  const router = Router();

  router.post('/v1/gc', async (req, res) => {
    requireScope(principalOf(res), 'admin');
    const dryRun = booleanQuery(req.query.dryRun, 'dryRun');
    const started = performance.now();
    const report = await collectGarbage({
      db: context.db,
      store: context.store,
      commitLock: context.commitLock,
      keeper: context.keeper,
      retentionKeep: context.config.retentionKeep,
      dryRun,
    });
    if (!report.dryRun) context.metrics.gcPassed(report, (performance.now() - started) / 1000);
    res.json(report);
  });

  router.post('/v1/admin/verify', verifyHandler(context));

  return router;
}
