import { MAX_CHUNK_SIZE } from './chunk-codec.js';
import { MAX_MANIFEST_BYTES } from './manifest-codec.js';

/**
 * The API's limits, one copy for both ends: the server's defaults start from these (an operator
 * may change them; these are what a default server answers) and the client splits its requests
 * by them, or refuses before sending what the server would refuse.
 */
export const PROTOCOL_LIMITS = Object.freeze({
  /** One chunk, uncompressed (`PUT /v1/chunks/{id}`, a batch frame): the chunker's largest. */
  maxChunkBytes: MAX_CHUNK_SIZE,
  maxManifestBytes: MAX_MANIFEST_BYTES,
  /** Ids per `POST /v1/chunks/fetch`. */
  maxFetchIds: 4096,
  /** One `POST /v1/chunks/upload` body, framing included: room for one largest chunk and its frame. */
  maxUploadBytes: 128 * 1024 * 1024,
  /** Frames per `POST /v1/chunks/upload`. */
  maxUploadChunks: 4096,
  /** Ids per `POST /v1/chunks/missing`. */
  maxMissingIds: 100_000,
  /** A JSON request body: 100 000 ids as JSON strings are ~6.7 MB. */
  maxJsonBytes: 8 * 1024 * 1024,
  /** Longest long-poll (`GET /v1/changes?wait=`). */
  maxWaitSeconds: 300,
});

export type ProtocolLimits = typeof PROTOCOL_LIMITS;
