import { randomUUID } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, S3Client, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { MOTO_CREDENTIALS } from './moto-server.js';

export interface TestBucket {
  /** A fresh, empty bucket with a unique name. */
  readonly bucket: string;
  /** A client of the endpoint: path style, dummy credentials, us-east-1. */
  readonly client: S3Client;
  /** Empties and deletes the bucket, then releases the client. */
  remove(): Promise<void>;
}

/** A path-style S3 client of a test endpoint (moto) with moto's dummy credentials. */
export function testS3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: MOTO_CREDENTIALS });
}

/** Creates a bucket named `<namePrefix>-<random>` on the endpoint, with a client to use it. */
export async function createTestBucket(endpoint: string, namePrefix = 'lxchunk-test'): Promise<TestBucket> {
  const client = testS3Client(endpoint);
  const bucket = `${namePrefix}-${randomUUID()}`.slice(0, 63).toLowerCase();
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    bucket,
    client,
    async remove() {
      try {
        for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket })) {
          const keys = (page.Contents ?? []).flatMap(({ Key }) => (Key === undefined ? [] : [{ Key }]));
          if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
        }
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
    },
  };
}
