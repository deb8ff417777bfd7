import { Router } from 'express';
import { InvalidInputError } from '@lxchunk/errors';
import { principalOf } from '../authenticate.js';
import { collectGarbage } from '../garbage-collector.js';
import { requireScope } from '../principal.js';
import type { ServerContext } from '../server-context.js';

export function adminRoutes(context: ServerContext): Router {
  const router = Router();

  router.post('/v1/gc', async (req, res) => {
    requireScope(principalOf(res), 'admin');
    const dryRun = req.query.dryRun;
    if (dryRun !== undefined && dryRun !== 'true' && dryRun !== 'false') throw new InvalidInputError('dryRun must be true or false');
    const report = await collectGarbage({
      db: context.db,
      store: context.store,
      commitLock: context.commitLock,
      keeper: context.keeper,
      retentionKeep: context.config.retentionKeep,
      dryRun: dryRun === 'true',
    });
    if (!report.dryRun) {
      context.metrics.gcRuns.inc();
      context.metrics.gcBytesFreed.inc(report.bytesFreed);
    }
    res.json(report);
  });

  return router;
}
