import type { Response } from 'express';
import type { LxchunkError } from '@lxchunk/errors';

/** LXD's answer envelope (shared/api/response.go): what the `lxc` client and the daemon parse. */
export function lxdSync(res: Response, metadata: unknown): void {
  res.set('Cache-Control', 'no-cache').json({ type: 'sync', status: 'Success', status_code: 200, operation: '', error_code: 0, error: '', metadata });
}

/**
 * An error in LXD's shape (`{"type":"error","error_code":404,"error":"…"}`), so `lxc` prints the
 * message; the stable code still labels the access log and metrics (httpErrorHandler).
 */
export function lxdErrorBody(error: LxchunkError, status: number): object {
  return { type: 'error', error: error.message, error_code: status, metadata: null };
}
