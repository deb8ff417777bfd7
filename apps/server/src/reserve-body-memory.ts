import type { RequestHandler } from 'express';
import { pausingBodyTimeout } from './body-idle-timeout.js';
import type { ByteBudget } from './byte-budget.js';

/**
 * Takes a whole-body route's bytes from the shared upload budget before reading the body (the
 * declared Content-Length, or `limit` for a chunked body) and gives them back when the response
 * is done, however it ends.
 */
export function reserveBodyMemory(budget: ByteBudget, limit: number): RequestHandler {
  return async (req, res, next) => {
    const declared = req.headers['content-length'];
    const bytes = declared !== undefined ? Number(declared) : limit;
    try {
      await pausingBodyTimeout(req, () => budget.acquire(bytes));
    } catch (err) {
      // Refused unread: close rather than drain up to 64 MiB just to say no.
      res.set('Connection', 'close');
      throw err;
    }
    res.once('close', () => budget.release(bytes));
    next();
  };
}
