import type { ErrorRequestHandler } from 'express';
import { HTTP_STATUS, MethodNotAllowedError, UnavailableError, errorBody, type LxchunkError } from '@lxchunk/errors';
import type { Logger } from './server-logger.js';
import type { StorageHealth } from './storage-health.js';
import { toLxchunkError } from './to-lxchunk-error.js';

/**
 * The last middleware: every failure becomes `{"error": {code, message, details?}}` with the
 * status from HTTP_STATUS. Library errors are mapped to our codes first (toLxchunkError); anything
 * unexpected is logged and answered as INTERNAL without its stack. `body` shapes the answer for
 * APIs that have their own error shape (LXD's, under /1.0).
 */
export function httpErrorHandler(logger: Logger, storage: StorageHealth, body: (error: LxchunkError, status: number) => object = errorBody): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    // A full disk is logged once by StorageHealth, not per failed request.
    const error = storage.classify(err) ?? toLxchunkError(err, req);
    // A stored file that fails its own check while being sent is the server's fault, not the caller's.
    const ownIntegrity = res.headersSent && (error.code === 'HASH_MISMATCH' || error.code === 'SIZE_MISMATCH');
    if (error.code === 'INTERNAL' || error.code === 'IO_ERROR' || error.code === 'CHUNK_CORRUPT' || ownIntegrity) {
      logger.error({ method: req.method, path: req.path, code: error.code, error: String((err as Error)?.stack ?? err) }, 'request failed');
    }
    // The access log and the metrics label the request with it.
    res.locals.errorCode = error.code;
    if (res.headersSent) {
      // Mid-stream: the only honest signal left is to cut the response short.
      res.destroy();
      return;
    }
    // No cache in front may keep an error: a chunk missing now may be pushed a moment later.
    res.set('Cache-Control', 'no-store');
    if (error instanceof MethodNotAllowedError) res.set('Allow', error.allowed.join(', '));
    if (error instanceof UnavailableError && error.retryAfterSeconds !== undefined) res.set('Retry-After', String(error.retryAfterSeconds));
    const status = HTTP_STATUS[error.code];
    res.status(status).json(body(error, status));
  };
}
