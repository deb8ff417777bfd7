import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { forEachBounded } from '@lxchunk/client';

export interface SdkGetFetchResult {
  /** Object body bytes read. */
  readonly bytes: number;
  readonly seconds: number;
}

/**
 * One GetObjectCommand per key, `concurrency` in flight, each body read to its end as a stream and
 * only counted: what the S3 endpoint delivers to a plain SDK client, the yardstick for a server
 * that fetches the same objects for its clients.
 */
export async function sdkGetFetch(client: S3Client, bucket: string, keys: readonly string[], concurrency: number): Promise<SdkGetFetchResult> {
  let bytes = 0;
  const started = performance.now();
  // No abort signal: one failure fails the bench, and a shared signal would collect a listener per GET.
  await forEachBounded(keys, concurrency, async (key) => {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    if (response.Body === undefined) throw new Error(`GET ${bucket}/${key}: no body`);
    // In Node the body is the HTTP response stream.
    for await (const piece of response.Body as AsyncIterable<Uint8Array>) bytes += piece.length;
  });
  return { bytes, seconds: (performance.now() - started) / 1000 };
}
