import type { Request } from 'express';
import { InvalidInputError } from '@lxchunk/errors';

/**
 * The request body's Content-Encoding, refused with INVALID_INPUT unless it is one of `accepted`
 * (for the routes that read bodies themselves instead of through body-parser).
 */
export function contentEncoding<const T extends string>(req: Request, accepted: readonly T[]): T {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (!(accepted as readonly string[]).includes(encoding)) {
    throw new InvalidInputError(`unsupported content encoding ${JSON.stringify(encoding)} (this route accepts ${accepted.join(', ')})`);
  }
  return encoding as T;
}
