import { Router } from 'express';
import { InvalidInputError } from '@lxchunk/errors';
import { principalOf } from '../authenticate.js';
import { canReadPrivate } from '../principal.js';
import type { ServerContext } from '../server-context.js';

export function changeRoutes(context: ServerContext): Router {
  const { db, config, changes, draining } = context;
  const router = Router();

  router.get('/v1/changes', async (req, res) => {
    const since = optionalInteger(req.query.since, 'since', 0, Number.MAX_SAFE_INTEGER);
    const wait = optionalInteger(req.query.wait, 'wait', 0, config.limits.maxWaitSeconds) ?? 30;
    const principal = principalOf(res);
    if (since === undefined) {
      res.json({ seq: await db.aliases.latestSeq(), changes: [] });
      return;
    }
    const deadline = Date.now() + wait * 1000;
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    const signal = AbortSignal.any([closed.signal, draining]);
    for (;;) {
      const rows = await db.aliases.changesSince(since, 1000);
      if (rows.length > 0 || Date.now() >= deadline || signal.aborted) {
        // A deletion is seen by whoever could see the alias just before it: its last target decides.
        const shown = await Promise.all(
          rows.map(async (change) => {
            if (canReadPrivate(principal)) return true;
            const target = change.target ?? (await db.aliases.targetAt(change.alias, change.version));
            return target !== undefined && (await db.images.isPublic(target)) === true;
          }),
        );
        const readable = rows.filter((_, i) => shown[i]);
        // The seq advances past changes the caller may not see, so it never asks for them again.
        const seq = rows.length > 0 ? rows.at(-1)!.seq : Math.max(since, await db.aliases.latestSeq());
        if (!res.destroyed) res.json({ seq, changes: readable.map((change) => ({ ...change, at: new Date(change.at).toISOString() })) });
        return;
      }
      await changes.wait(deadline - Date.now(), signal);
    }
  });

  return router;
}

function optionalInteger(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new InvalidInputError(`${name} must be an integer from ${min} to ${max}`);
  }
  return Number(value);
}
