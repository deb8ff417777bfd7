import type { RequestHandler } from 'express';
import { pausingBodyTimeout } from './body-idle-timeout.js';
import type { ByteBudget } from './byte-budget.js';

/**
 * Takes a whole-body route's bytes from the shared upload budget before reading the body (the
 * declared Content-Length, or `limit` for a chunked body) and gives them back when the response
 * is done, however it ends: also when the client hangs up while it waits for them.
 */
export function reserveBodyMemory(budget: ByteBudget, limit: number): RequestHandler {
  return async (req, res, next) => {
    const declared = req.headers['content-length'];
    const bytes = declared !== undefined ? Number(declared) : limit;
    // Listened for before waiting: a close during the wait has to cancel it, or the bytes granted
    // later would be held for good (a 20,000-case fuzz run leaked the whole budget that way).
    const closed = new AbortController();
    let held = false;
    res.once('close', () => {
      closed.abort(new Error('the client hung up'));
      if (held) budget.release(bytes);
      held = false;
    });
    try {
      await pausingBodyTimeout(req, () => budget.acquire(bytes, closed.signal));
    } catch (err) {
      if (closed.signal.aborted) return; // hung up while waiting: nobody is left to answer
      // Refused unread: close rather than drain up to 64 MiB just to say no.
      res.set('Connection', 'close');
      throw err;
    }
    if (closed.signal.aborted) {
      // Granted in the same turn as the hang-up: nobody is left to answer.
      budget.release(bytes);
      return;
    }
    held = true;
    next();
  };
}
