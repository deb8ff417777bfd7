import type { RequestHandler } from 'express';
import { onRequestEnd } from './request-outcome.js';
import type { Logger } from './server-logger.js';

/**
 * One log line per request: method, path (the query left out: it is not needed to read the log,
 * and tokens never travel in paths), status, stable code, duration and bytes. Server errors are
 * `warn` (the failure itself is logged as `error` where it happens), the rest `info`. At `debug`
 * each request's arrival is logged as well.
 */
export function accessLog(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const { method, path } = req;
    // At debug, the start too: tests and operators can see a long-poll arrive.
    logger.debug({ method, path }, 'request received');
    onRequestEnd(req, res, (outcome) => {
      const level = outcome.status >= 500 || outcome.aborted ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          method,
          path,
          status: outcome.status,
          code: outcome.code,
          durationMs: Math.round(outcome.seconds * 1e6) / 1e3,
          bytesOut: outcome.bytesOut,
          bytesIn: outcome.bytesIn,
          ...(outcome.aborted ? { aborted: true } : {}),
        },
        'request',
      );
    });
    next();
  };
}
