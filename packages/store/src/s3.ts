// The S3 store on its own entry point (`@lxchunk/store/s3`): the AWS SDK takes about 0.3 s to
// load, which every `chunk` command would otherwise pay whether or not it touches S3.
export { S3ChunkStore, type S3ChunkStoreOptions, type S3ChunkStoreUrlOptions } from './s3-chunk-store.js';
export { s3ClientFromEnv, type S3ClientFromEnvOptions } from './s3-client-from-env.js';
export { parseS3Url, type S3Location } from './s3-location.js';
