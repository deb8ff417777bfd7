import express, { Router, type Request, type RequestHandler } from 'express';
import { assertHex64 } from '@lxchunk/chunker';
import { AliasNotFoundError, InvalidInputError, PreconditionRequiredError } from '@lxchunk/errors';
import { validateAliasName } from '@lxchunk/format';
import { principalOf } from '../authenticate.js';
import { declaredBodyLimit } from '../body-limit.js';
import { canReadPrivate, requireScope, type Principal } from '../principal.js';
import type { ServerContext } from '../server-context.js';

export function aliasRoutes(context: ServerContext): Router {
  const { db, config } = context;
  const router = Router();
  const json: RequestHandler[] = [declaredBodyLimit(config.limits.maxJsonBytes), express.json({ limit: config.limits.maxJsonBytes })];

  /** An alias is visible to whoever may read its target. */
  const visible = async (target: string, principal: Principal) => canReadPrivate(principal) || (await db.images.isPublic(target)) === true;
  const visibleOnly = async <T extends { target: string }>(items: T[], principal: Principal): Promise<T[]> => {
    const shown = await Promise.all(items.map((item) => visible(item.target, principal)));
    return items.filter((_, i) => shown[i]);
  };

  router.get('/v1/aliases', async (_req, res) => {
    const principal = principalOf(res);
    res.json({ aliases: (await visibleOnly(await db.aliases.list(), principal)).map(publicRecord) });
  });

  // Alias names contain '/', so the name is the whole rest of the path.
  router.get('/v1/aliases/*path', async (req, res) => {
    const segments = (req.params as { path: string[] }).path;
    const principal = principalOf(res);
    if (segments.length > 1 && segments.at(-1) === 'history') {
      const name = validateAliasName(segments.slice(0, -1).join('/'));
      const current = await db.aliases.get(name);
      // A caller who may not read the alias now learns nothing of it, not even that it was ever
      // there; a caller who may read everything also sees the past of a deleted alias.
      if (!canReadPrivate(principal) && (!current || !(await visible(current.target, principal)))) throw new AliasNotFoundError(name);
      const history = (await visibleOnly(await db.aliases.history(name), principal)).map((entry) => ({ ...entry, at: new Date(entry.at).toISOString() }));
      if (history.length === 0) throw new AliasNotFoundError(name);
      res.json({ history });
      return;
    }
    const name = validateAliasName(segments.join('/'));
    const alias = await db.aliases.get(name);
    if (!alias || !(await visible(alias.target, principal))) throw new AliasNotFoundError(name);
    res.set('ETag', `"${alias.version}"`).json(publicRecord(alias));
  });

  router.put('/v1/aliases/*path', ...json, async (req, res) => {
    requireScope(principalOf(res), 'push');
    const name = validateAliasName((req.params as { path: string[] }).path.join('/'));
    const { target, description } = parseAliasBody(req.body);
    const expect = precondition(req, true)!;
    // The store announces the change to every server sharing it (onAliasChange): long-polls wake.
    const { record, changed } = await db.aliases.set(name, target, expect, description);
    if (changed) {
      config.logger.info({ alias: name, target, version: record.version, by: principalOf(res).name }, 'alias moved');
    }
    res.status(changed && record.version === 1 ? 201 : 200).set('ETag', `"${record.version}"`).json(publicRecord(record));
  });

  router.delete('/v1/aliases/*path', async (req, res) => {
    requireScope(principalOf(res), 'push');
    const name = validateAliasName((req.params as { path: string[] }).path.join('/'));
    const expect = precondition(req, false);
    if (expect && 'absent' in expect) throw new InvalidInputError('If-None-Match makes no sense on delete');
    if (!(await db.aliases.delete(name, expect?.version))) throw new AliasNotFoundError(name);
    res.status(204).end();
  });

  return router;
}

function publicRecord(alias: { name: string; target: string; version: number; updated: number; description?: string }) {
  return { name: alias.name, target: alias.target, version: alias.version, updated: new Date(alias.updated).toISOString(), description: alias.description ?? '' };
}

function parseAliasBody(body: unknown): { target: string; description: string | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidInputError('expected a JSON object {"target": ...}');
  for (const key of Object.keys(body)) {
    if (key !== 'target' && key !== 'description') throw new InvalidInputError(`unknown field ${JSON.stringify(key)}`);
  }
  const { target, description } = body as { target?: unknown; description?: unknown };
  assertHex64(target, 'target');
  if (description !== undefined && (typeof description !== 'string' || description.length > 1024)) {
    throw new InvalidInputError('description must be a string of at most 1024 characters');
  }
  return { target, description };
}

/** Compare-and-swap preconditions: `If-Match: "<version>"` or `If-None-Match: *`. */
function precondition(req: Request, required: boolean): { version: number } | { absent: true } | undefined {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifMatch !== undefined && ifNoneMatch !== undefined) throw new InvalidInputError('send If-Match or If-None-Match, not both');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') throw new InvalidInputError('If-None-Match must be *');
    return { absent: true };
  }
  if (ifMatch !== undefined) {
    const match = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(ifMatch);
    if (!match) throw new InvalidInputError('If-Match must be a quoted alias version, like "3"');
    return { version: Number(match[1]) };
  }
  if (required) {
    throw new PreconditionRequiredError('moving an alias needs If-Match: "<version>" (or If-None-Match: * to create it)');
  }
  return undefined;
}
