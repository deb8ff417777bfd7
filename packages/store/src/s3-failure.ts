import { IoError, LxchunkError } from '@lxchunk/errors';

interface SdkError {
  readonly name?: string;
  readonly Code?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** An S3 answer that the key is not there (a GET's NoSuchKey, a HEAD's bodiless 404); a missing bucket is not this. */
export function isS3NotFound(err: unknown): boolean {
  const e = err as SdkError | undefined;
  if (e === undefined || e === null || typeof e !== 'object') return false;
  if (e.name === 'NoSuchBucket') return false;
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

/** An S3 answer that a condition (If-Match, x-amz-copy-source-if-match) did not hold. */
export function isS3PreconditionFailed(err: unknown): boolean {
  const e = err as SdkError | undefined;
  return e?.name === 'PreconditionFailed' || e?.$metadata?.httpStatusCode === 412;
}

/**
 * A failed S3 call as an lxchunk error naming what was being done, with the SDK's error as cause:
 * IoError for everything (network, 5xx, refused access, a missing bucket), since the store cannot
 * go on either way; the message tells which. Our own errors pass through.
 */
export function s3Failure(action: string, bucket: string, err: unknown): LxchunkError {
  if (err instanceof LxchunkError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const message = e.message ?? String(err);
  let reason: string;
  if (name === 'NoSuchBucket') reason = `S3 bucket ${JSON.stringify(bucket)} does not exist`;
  else if (status === 403 || name === 'AccessDenied' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
    reason = `S3 refused access to bucket ${JSON.stringify(bucket)} (${name}): ${message}`;
  } else if (status !== undefined) reason = `S3 answered ${status} ${name}: ${message}`;
  else reason = `S3 unreachable (${e.code ?? name}): ${message}`;
  return new IoError(`${action}: ${reason}`, { cause: err });
}
