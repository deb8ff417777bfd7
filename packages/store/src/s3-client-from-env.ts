import { S3Client } from '@aws-sdk/client-s3';

export interface S3ClientFromEnvOptions {
  /** Bucket in the path (`endpoint/bucket/key`), as MinIO, moto and most S3-compatible stores need. Default: env LXCHUNK_S3_FORCE_PATH_STYLE=1. */
  readonly forcePathStyle?: boolean;
  /** Default: env AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. */
  readonly region?: string;
  /** Give up connecting after this long, in ms (an endpoint that is down must fail, not hang). Default 10 000. */
  readonly connectionTimeoutMs?: number;
  /** Give up on a request whose socket stays idle this long, in ms. Default 60 000. */
  readonly requestTimeoutMs?: number;
}

/**
 * An S3Client configured the standard AWS way: credentials from the SDK's default chain (env,
 * profile, instance role...), the endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL when set
 * (the SDK reads them itself).
 */
export function s3ClientFromEnv(options: S3ClientFromEnvOptions = {}): S3Client {
  return new S3Client({
    region: options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? process.env.LXCHUNK_S3_FORCE_PATH_STYLE === '1',
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 60_000,
    },
  });
}
