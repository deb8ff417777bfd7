import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { forEachBounded } from '@lxchunk/client';

export interface SdkGetFetchResult {
  /** Object body bytes read. */
  readonly bytes: number;
  readonly seconds: number;
}

/**
 * One GetObjectCommand per key, each body read to its end as a stream and only counted: what the
 * S3 endpoint delivers to a plain SDK client, the yardstick for a server that fetches the same
 * objects for its clients. The keys come in batches, `batchConcurrency` batches at once with
 * `perBatch` GETs in flight in each: the shape of a server answering batched fetches with a
 * read-ahead window, so that both keep the same number of GETs in flight at every moment.
 */
export async function sdkGetFetch(
  client: S3Client,
  bucket: string,
  batches: readonly (readonly string[])[],
  batchConcurrency: number,
  perBatch: number,
): Promise<SdkGetFetchResult> {
  let bytes = 0;
  const started = performance.now();
  // No abort signals: one failure fails the bench, and a shared signal would collect a listener per GET.
  await forEachBounded(batches, batchConcurrency, async (keys) => {
    await forEachBounded(keys, perBatch, async (key) => {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (response.Body === undefined) throw new Error(`GET ${bucket}/${key}: no body`);
      // In Node the body is the HTTP response stream.
      for await (const piece of response.Body as AsyncIterable<Uint8Array>) bytes += piece.length;
    });
  });
  return { bytes, seconds: (performance.now() - started) / 1000 };
}
