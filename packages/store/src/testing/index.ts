/** Test support for S3 stores (`@lxchunk/store/testing`, never the main entry): a moto server and fresh buckets. */
export { MOTO_CREDENTIALS, startMotoServer, type MotoServer, type StartMotoServerOptions } from './moto-server.js';
export { createTestBucket, testS3Client, type TestBucket } from './test-bucket.js';
