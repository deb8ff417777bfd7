import { Router } from 'express';
import type { ServerContext } from '../server-context.js';

/** Health and metrics: outside /v1 and outside auth, for load balancers and Prometheus. */
export function opsRoutes(context: ServerContext): Router {
  const router = Router();
  // Shown so an operator can check what a client will pin (over the same connection it pins).
  const tls = context.tlsFingerprint ? { tlsFingerprint: context.tlsFingerprint } : {};
  router.get('/healthz', (_req, res) => {
    const full = context.storage.full;
    if (context.draining.aborted) res.status(503).json({ ok: false, draining: true, ...tls });
    // Reads still work, but a balancer should send pushes elsewhere until space is freed.
    else if (full) res.status(503).json({ ok: false, degraded: true, reason: full.reason, since: new Date(full.since).toISOString(), ...tls });
    else res.json({ ok: true, ...tls });
  });
  router.get('/metrics', async (_req, res) => {
    res.set('Content-Type', context.metrics.registry.contentType).end(await context.metrics.registry.metrics());
  });
  return router;
}
