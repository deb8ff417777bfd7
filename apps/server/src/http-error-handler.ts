import type { ErrorRequestHandler } from 'express';
import {
  HTTP_STATUS,
  InternalError,
  InvalidInputError,
  LxchunkError,
  PayloadTooLargeError,
  SizeMismatchError,
  errorBody,
} from '@lxchunk/errors';

/**
 * The last middleware: every failure becomes `{"error": {code, message, details?}}` with the
 * status from HTTP_STATUS. body-parser's own errors (too large, truncated, bad JSON) are mapped
 * to our codes first; anything unexpected is logged and answered as INTERNAL without its stack.
 */
export function httpErrorHandler(log: (entry: Record<string, unknown>) => void): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const error = toLxchunkError(err);
    if (error.code === 'INTERNAL' || error.code === 'IO_ERROR' || error.code === 'CHUNK_CORRUPT') {
      log({ level: 'error', msg: 'request failed', method: req.method, path: req.path, code: error.code, error: String((err as Error)?.stack ?? err) });
    }
    if (res.headersSent) {
      // Mid-stream: the only honest signal left is to cut the response short.
      res.destroy();
      return;
    }
    res.status(HTTP_STATUS[error.code]).json(errorBody(error));
  };
}

function toLxchunkError(err: unknown): LxchunkError {
  if (err instanceof LxchunkError) return err;
  const type = (err as { type?: string } | undefined)?.type;
  const message = err instanceof Error ? err.message : String(err);
  switch (type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`request body too large (limit ${(err as { limit?: number }).limit} bytes)`);
    case 'request.size.invalid':
      return new SizeMismatchError('request body', (err as { expected: number }).expected, (err as { received: number }).received);
    case 'request.aborted':
      return new InvalidInputError('request body was cut short');
    case 'entity.parse.failed':
      return new InvalidInputError(`malformed JSON: ${message}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new InvalidInputError(message);
  }
  return new InternalError('internal server error', { cause: err });
}
