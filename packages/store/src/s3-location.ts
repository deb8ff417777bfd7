import { InvalidInputError } from '@lxchunk/errors';

/** Where an S3 chunk store keeps its objects: a bucket, and a key prefix without slashes at its ends ('' for the bucket's root). */
export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

// S3's rules for new buckets: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Checks a bucket name and normalizes a prefix (`/a/b/` → `a/b`); InvalidInputError when either is unusable. */
export function s3Location(bucket: string, prefix = ''): S3Location {
  if (typeof bucket !== 'string' || !BUCKET.test(bucket)) {
    throw new InvalidInputError(`S3 bucket name must be 3-63 lowercase letters, digits, dots or hyphens, got ${JSON.stringify(bucket)}`);
  }
  if (typeof prefix !== 'string') throw new InvalidInputError('S3 key prefix must be a string');
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  // An empty or dot segment would make keys that tools show and copy differently from what we list.
  if (trimmed !== '' && trimmed.split('/').some((part) => part === '' || part === '.' || part === '..')) {
    throw new InvalidInputError(`S3 key prefix must not have empty, '.' or '..' segments, got ${JSON.stringify(prefix)}`);
  }
  return { bucket, prefix: trimmed };
}

/** `s3://BUCKET[/PREFIX]` → bucket and prefix; InvalidInputError naming what is wrong otherwise. */
export function parseS3Url(url: string): S3Location {
  if (typeof url !== 'string') throw new InvalidInputError('S3 store URL must be a string');
  const match = /^s3:\/\/([^/?#]*)(?:\/([^?#]*))?$/.exec(url);
  if (match === null) {
    throw new InvalidInputError(`S3 store URL must look like s3://BUCKET[/PREFIX] (no query or fragment), got ${JSON.stringify(url)}`);
  }
  return s3Location(match[1]!, match[2] ?? '');
}
