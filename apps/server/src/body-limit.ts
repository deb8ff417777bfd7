import type { RequestHandler } from 'express';
import { PayloadTooLargeError } from '@lxchunk/errors';

/**
 * Refuses a request whose declared Content-Length is over `limit` before reading any of it.
 * body-parser would first drain the whole announced body; this answers 413 at once and closes the
 * connection, so nobody can make the server read 64 MiB just to say no.
 */
export function declaredBodyLimit(limit: number): RequestHandler {
  return (req, res, next) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      res.set('Connection', 'close');
      throw new PayloadTooLargeError(`request body of ${declared} bytes is over the ${limit}-byte limit`);
    }
    next();
  };
}
