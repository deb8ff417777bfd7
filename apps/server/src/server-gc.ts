import { collectGarbage, type GcReport } from './garbage-collector.js';
import type { ServerContext } from './server-context.js';

/**
 * One GC pass of the running server, with its settings and its keeper: what the admin route and
 * the periodic timer both run. A real pass (not a dry run) is recorded in the metrics.
 */
export async function serverGc(context: ServerContext, dryRun: boolean): Promise<GcReport> {
  const started = performance.now();
  const report = await collectGarbage({
    db: context.db,
    store: context.store,
    keeper: context.keeper,
    retentionKeep: context.config.retentionKeep,
    dryRun,
  });
  if (!report.dryRun) context.metrics.gcPassed(report, (performance.now() - started) / 1000);
  return report;
}
