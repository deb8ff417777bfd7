import type { Request, RequestHandler } from 'express';
import { HTTP_STATUS, RequestTimeoutError, errorBody } from '@lxchunk/errors';

/** Requests whose body is being timed, with their idle limit. */
const timed = new WeakMap<Request, number>();

/**
 * A request body that sends nothing for `ms` is answered 408 REQUEST_TIMEOUT (the connection then
 * closes, which fails the handler still reading it): a stalled client must not hold a connection
 * and its buffered bytes until the whole-request timeout. Only socket inactivity counts, and only
 * until the body has arrived; time the server itself spends waiting is excluded (pausingBodyTimeout).
 */
export function bodyIdleTimeout(ms: number): RequestHandler {
  return (req, res, next) => {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (ms <= 0 || !hasBody || req.complete) return next();
    timed.set(req, ms);
    // Kept: once the response is done, req.socket is null, and a keep-alive socket must not keep our timeout.
    const socket = req.socket;
    const stop = () => {
      timed.delete(req);
      socket.setTimeout(0);
    };
    req.setTimeout(ms, () => {
      stop();
      if (res.headersSent) {
        socket.destroy();
        return;
      }
      const error = new RequestTimeoutError(`the request body sent nothing for ${ms / 1000} s`);
      // Close both ways once answered: a half-open socket would leave the handler reading a body
      // that never comes, holding its share of the upload memory budget for good.
      res.once('finish', () => socket.destroy());
      res.set('Connection', 'close').status(HTTP_STATUS[error.code]).json(errorBody(error));
    });
    req.once('end', stop);
    res.once('close', stop);
    next();
  };
}

/** Runs `wait` (the server's own waiting: for memory, for writes) with the body idle timeout off. */
export async function pausingBodyTimeout<T>(req: Request, wait: () => Promise<T>): Promise<T> {
  const ms = timed.get(req);
  const socket = req.socket;
  if (ms === undefined || !socket) return wait();
  socket.setTimeout(0);
  try {
    return await wait();
  } finally {
    if (timed.has(req)) socket.setTimeout(ms);
  }
}
