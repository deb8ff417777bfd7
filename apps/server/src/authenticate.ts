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
    const secret = bearerToken(header) ?? basicPassword(header);
    const token = secret ? await context.db.tokens.verify(secret) : undefined;
    if (!token) throw new UnauthorizedError('invalid, expired or revoked token');
    res.locals.principal = { name: token.name, scopes: new Set<Scope>(token.scopes) } satisfies Principal;
    next();
  };
}

function bearerToken(header: string): string | undefined {
  return /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(header)?.[1];
}

/**
 * HTTP Basic with the token as the password (any user name): how LXD's simplestreams client
 * authenticates, from a remote URL `https://token:SECRET@host` (`lxc remote add --help`).
 */
function basicPassword(header: string): string | undefined {
  const encoded = /^Basic ([A-Za-z0-9+/=]{1,400})$/.exec(header)?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const password = colon >= 0 ? decoded.slice(colon + 1) : '';
  return /^[A-Za-z0-9_-]{1,200}$/.test(password) ? password : undefined;
}

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}
