import type { RequestHandler } from 'express';
import getRawBody from 'raw-body';
import { HashMismatchError, isLxchunkError } from '@lxchunk/errors';
import { decodeChunk } from '@lxchunk/format';
import { contentEncoding } from './content-encoding.js';

/**
 * Reads an uploaded chunk into `req.body`: raw bytes, or a zstd frame (`Content-Encoding: zstd`)
 * decoded here with its announced size bounded and its content checked against the id in the
 * path. body-parser cannot inflate zstd, so this reads the body itself with raw-body, which
 * also enforces the limit and the declared Content-Length.
 */
export function chunkBody(limit: number): RequestHandler {
  return async (req, _res, next) => {
    const encoding = contentEncoding(req, ['identity', 'zstd']);
    const length = req.headers['content-length'];
    const bytes = await getRawBody(req, { limit, ...(length !== undefined ? { length } : {}) });
    if (encoding === 'identity') {
      req.body = bytes;
      return next();
    }
    req.body = inflateUploadedChunk(String(req.params.id), bytes);
    next();
  };
}

/** An uploaded zstd frame said to hold chunk `id`, decoded (size bounded) and verified. */
export function inflateUploadedChunk(id: string, payload: Uint8Array): Uint8Array {
  try {
    return decodeChunk(id, 'zstd', payload);
  } catch (err) {
    if (!isLxchunkError(err, 'CHUNK_CORRUPT')) throw err;
    // For an upload, bytes that do not decode to the id are the sender's mismatch, not our corruption.
    throw Object.assign(new HashMismatchError(`uploaded zstd chunk ${id}`, id, 'undecodable or different content'), { cause: err });
  }
}
