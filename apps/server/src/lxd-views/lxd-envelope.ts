import type { ErrorRequestHandler, Response } from 'express';
import { HTTP_STATUS } from '@lxchunk/errors';
import type { Logger } from '../server-logger.js';
import { toLxchunkError } from '../to-lxchunk-error.js';

/** LXD's answer envelope (shared/api/response.go): what the `lxc` client and the daemon parse. */
export function lxdSync(res: Response, metadata: unknown): void {
  res.set('Cache-Control', 'no-cache').json({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata });
}

/**
 * Errors under /1.0 in LXD's shape (`{"type":"error","error_code":404,"error":"…"}`), so `lxc`
 * prints the message; the stable code still labels the access log and metrics.
 */
export function lxdErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const error = toLxchunkError(err, req);
    if (error.code === 'INTERNAL' || error.code === 'IO_ERROR' || error.code === 'CHUNK_CORRUPT' || error.code === 'HASH_MISMATCH') {
      logger.error({ method: req.method, path: req.path, code: error.code, error: String((err as Error)?.stack ?? err) }, 'LXD-protocol request failed');
    }
    res.locals.errorCode = error.code;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const status = HTTP_STATUS[error.code];
    res.set('Cache-Control', 'no-store').status(status).json({ type: 'error', error: error.message, error_code: status, metadata: null });
  };
}
