import { ProtocolError } from '@lxchunk/errors';
import { MAX_CHUNK_SIZE, type ChunkEncoding } from '@lxchunk/format';
import type { HttpResponse } from './http-transport.js';

/** A chunk's stored form on the wire: at most the largest chunk, or its zstd frame's bound. */
export const STORED_CHUNK_BODY_LIMIT = MAX_CHUNK_SIZE + (MAX_CHUNK_SIZE >> 7) + 1024;

/**
 * How a single chunk's body is encoded (from the server, or from an object store a redirect
 * named): `Content-Encoding` zstd or none; anything else is a PROTOCOL_ERROR naming `what`.
 */
export function storedChunkEncoding(response: HttpResponse, what: string): ChunkEncoding {
  const encoding = String(response.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'zstd' && encoding !== 'identity') throw new ProtocolError(`${what}: unexpected Content-Encoding ${JSON.stringify(encoding)}`);
  return encoding;
}
