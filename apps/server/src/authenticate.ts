import type { RequestHandler, Response } from 'express';
import { UnauthorizedError } from '@lxchunk/errors';
import { ANONYMOUS, type Principal, type Scope } from './principal.js';
import type { ServerContext } from './server-context.js';

/**
 * Resolves the bearer token to a principal. A token that is present but wrong is an error, never
 * a silent downgrade to anonymous: a CI job with a revoked token must fail loudly.
 */
export function authenticate(context: ServerContext): RequestHandler {
  return async (req, res, next) => {
    const header = req.headers.authorization;
    if (header === undefined) {
      if (!context.config.anonymousRead) throw new UnauthorizedError('this server does not allow anonymous access');
      res.locals.principal = ANONYMOUS;
      return next();
    }
    const match = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header);
    const token = match ? await context.db.tokens.verify(match[1]!) : undefined;
    if (!token) throw new UnauthorizedError('invalid, expired or revoked token');
    res.locals.principal = { name: token.name, scopes: new Set<Scope>(token.scopes) } satisfies Principal;
    next();
  };
}

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}
