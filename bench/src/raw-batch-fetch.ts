import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { forEachBounded } from '@lxchunk/client';
import { FRAME_HEADER_BYTES } from '@lxchunk/format';

/** The part of undici's API used here (undici is @lxchunk/client's dependency, not the bench's). */
interface UndiciBody extends AsyncIterable<Uint8Array> {
  text(): Promise<string>;
}
interface UndiciAgent {
  request(options: {
    origin: string;
    path: string;
    method: string;
    headers: Record<string, string>;
    body: string | Uint8Array;
    signal?: AbortSignal;
  }): Promise<{ statusCode: number; body: UndiciBody }>;
  close(): Promise<void>;
}
interface Undici {
  Agent: new (options?: Record<string, unknown>) => UndiciAgent;
}

let undici: Promise<Undici> | undefined;

/** undici as @lxchunk/client resolves it: the same HTTP stack the client uses, without the client's work. */
function loadUndici(): Promise<Undici> {
  undici ??= (async () => {
    const require = createRequire(import.meta.url);
    const clientEntry = require.resolve('@lxchunk/client');
    const path = createRequire(clientEntry).resolve('undici');
    return (await import(pathToFileURL(path).href)) as Undici;
  })();
  return undici;
}

/**
 * The response bytes of fetching `chunks` chunks of `payloadBytes` in all in batches of
 * `batchSize`, when every chunk is sent as stored and as is (random data): each batch's start and
 * trailer frames, a header per chunk, the payloads.
 */
export function batchWireBytes(chunks: number, payloadBytes: number, batchSize: number): number {
  return Math.ceil(chunks / batchSize) * (4 + FRAME_HEADER_BYTES) + chunks * FRAME_HEADER_BYTES + payloadBytes;
}

export interface RawFetchResult {
  /** Response body bytes: batch framing plus payloads. */
  readonly wireBytes: number;
  readonly seconds: number;
}

/**
 * `POST /v1/chunks/fetch` in batches of `batchSize` ids, `concurrency` at once (what
 * ChunkServerClient.fetchChunks sends), reading each response stream and only counting its
 * bytes: no frame decoding, no copy, no verification. What the server can deliver, without the
 * client's costs.
 */
export async function rawBatchFetch(url: string, ids: readonly string[], batchSize: number, concurrency: number): Promise<RawFetchResult> {
  const { Agent } = await loadUndici();
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const origin = new URL(url).origin;
  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += batchSize) batches.push(ids.slice(i, i + batchSize));
  let wireBytes = 0;
  try {
    const started = performance.now();
    await forEachBounded(batches, concurrency, async (batch, _index, signal) => {
      const response = await agent.request({
        origin,
        path: '/v1/chunks/fetch',
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/vnd.lxchunk.chunks', 'accept-encoding': 'zstd' },
        body: JSON.stringify({ ids: batch }),
        signal,
      });
      if (response.statusCode !== 200) {
        throw new Error(`POST /v1/chunks/fetch: HTTP ${response.statusCode}: ${(await response.body.text()).slice(0, 500)}`);
      }
      for await (const piece of response.body) wireBytes += piece.length;
    });
    return { wireBytes, seconds: (performance.now() - started) / 1000 };
  } finally {
    await agent.close();
  }
}
