import type { RequestHandler, Response } from 'express';
import { ConflictError, InternalError, LxchunkError, UnavailableError, errorBody } from '@lxchunk/errors';
import { verifyChunks, type VerifyProgress } from '@lxchunk/store';
import { principalOf } from '../authenticate.js';
import { requireScope } from '../principal.js';
import type { ServerContext } from '../server-context.js';
import { booleanQuery } from './boolean-query.js';

const VERIFY_CONTENT_TYPE = 'application/x-ndjson';

/** Progress lines at most this often: enough for a bar, and they keep idle timeouts away. */
const PROGRESS_EVERY_MS = 500;

/**
 * `POST /v1/admin/verify?repair=true` (admin): reads and verifies every stored chunk inside the
 * running server, one at a time with a turn of the event loop between chunks, so requests keep
 * being served. The answer streams as NDJSON: `{"progress": {done, total}}` lines, then one
 * `{"report": {...}}` line, or an `{"error": {...}}` line when the pass fails after it started.
 * One pass at a time: a second is 409 CONFLICT.
 */
export function verifyHandler(context: ServerContext): RequestHandler {
  let running = false;
  return async (req, res) => {
    requireScope(principalOf(res), 'admin');
    const repair = booleanQuery(req.query.repair, 'repair');
    if (running) throw new ConflictError('a verify pass is already running');
    running = true;
    const gone = new AbortController();
    const onClose = () => gone.abort(new UnavailableError('the client went away'));
    res.once('close', onClose);
    try {
      res.status(200).set({ 'Content-Type': VERIFY_CONTENT_TYPE, 'Cache-Control': 'no-store' });
      res.flushHeaders();
      let last = 0;
      const onProgress = (progress: VerifyProgress) => {
        const now = Date.now();
        if (now - last < PROGRESS_EVERY_MS && progress.done < progress.total) return;
        last = now;
        writeLine(res, { progress });
      };
      const report = await verifyChunks(context.store, { repair, signal: AbortSignal.any([gone.signal, context.draining]), onProgress });
      context.config.logger[report.corrupt + report.unreadable > 0 ? 'error' : 'info']({ ...report, problems: report.problems.length }, 'verify');
      res.end(`${JSON.stringify({ report })}\n`);
    } catch (err) {
      if (res.destroyed) return;
      const error = context.draining.aborted ? new UnavailableError('the server is shutting down', { cause: err }) : asLxchunkError(err);
      context.config.logger.error({ code: error.code, error: String((err as Error)?.stack ?? err) }, 'verify failed');
      res.end(`${JSON.stringify(errorBody(error))}\n`);
    } finally {
      running = false;
      res.off('close', onClose);
    }
  };
}

function writeLine(res: Response, value: unknown): void {
  if (!res.destroyed) res.write(`${JSON.stringify(value)}\n`);
}

function asLxchunkError(err: unknown): LxchunkError {
  return err instanceof LxchunkError ? err : new InternalError('internal server error', { cause: err });
}
