import type { Request } from 'express';
import { InternalError, InvalidInputError, LxchunkError, PayloadTooLargeError, SizeMismatchError } from '@lxchunk/errors';

/**
 * What a failed request is in our terms. Errors the libraries under us raise for bad input
 * (body-parser's typed errors, the router's URIError, zlib refusing a body, a client hanging up
 * mid-body) are the caller's fault: 4xx with a clear message, never INTERNAL with a stack in the log.
 * Anything else unknown is INTERNAL.
 */
export function toLxchunkError(err: unknown, req: Request): LxchunkError {
  if (err instanceof LxchunkError) return err;
  const { type, code, status, expose } = (err ?? {}) as { type?: unknown; code?: unknown; status?: unknown; expose?: unknown };
  const message = err instanceof Error ? err.message : String(err);
  switch (type) {
    case 'entity.too.large':
      return new PayloadTooLargeError(`request body too large (limit ${(err as { limit?: number }).limit} bytes)`);
    case 'request.size.invalid':
      return new SizeMismatchError('request body', (err as { expected: number }).expected, (err as { received: number }).received);
    case 'request.aborted':
      return new InvalidInputError('request body was cut short', { cause: err });
    case 'entity.parse.failed':
      return new InvalidInputError(`malformed JSON: ${message}`, { cause: err });
    case 'encoding.unsupported':
      return new InvalidInputError(`unsupported content encoding ${JSON.stringify(req.headers['content-encoding'] ?? '')}`, { cause: err });
    case 'charset.unsupported':
      return new InvalidInputError(message, { cause: err });
  }
  // The router decodes path parameters with decodeURIComponent: `%ff` is not UTF-8.
  if (err instanceof URIError) return new InvalidInputError(`malformed percent-encoding in the path: ${message}`, { cause: err });
  if (isDecompressionError(code)) {
    return new InvalidInputError(`request body is not valid ${JSON.stringify(req.headers['content-encoding'] ?? '')} data: ${message}`, { cause: err });
  }
  // A request stream that errors this way was closed by the client before its body ended.
  if (code === 'ECONNRESET' && req.destroyed) return new InvalidInputError('the client closed the connection before the request body ended', { cause: err });
  // http-errors marks the client's faults it knows of as exposable 4xx.
  if (typeof status === 'number' && status >= 400 && status < 500 && expose === true) return new InvalidInputError(message, { cause: err });
  return new InternalError('internal server error', { cause: err });
}

/** zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR...) and brotli's (ERR__ERROR_FORMAT_..., ERR_BROTLI_...). */
function isDecompressionError(code: unknown): boolean {
  return typeof code === 'string' && /^(Z_|ERR__ERROR_|ERR_BROTLI)/.test(code);
}
