import { freshDatabaseUrl, startPrivatePostgres } from '@lxchunk/server/testing';
import { createTestBucket, startMotoServer, type MotoServer, type TestBucket } from '@lxchunk/store/testing';
import type { CleanupStack } from './cleanup-stack.js';
import { findPid } from './find-pid.js';

export interface SharedBackends {
  readonly moto: MotoServer;
  /** A fresh bucket on moto, with a client of it. */
  readonly bucket: TestBucket;
  /** The key prefix the servers keep their chunks under. */
  readonly prefix: string;
  /** A fresh database on the private PostgreSQL. */
  readonly databaseUrl: string;
  /** `--chunks s3://… --metadata postgres://…`: what makes `chunk serve` processes replicas of one server. */
  readonly storageArgs: readonly string[];
  /** moto_server's process (for its CPU and memory); undefined when not found in /proc. */
  readonly motoPid: number | undefined;
  /** The postmaster (its direct children are the backends serving the servers' connections). */
  readonly postgresPid: number | undefined;
}

/**
 * One moto_server (an S3 API on loopback) and one private PostgreSQL cluster, started side by
 * side, with a fresh bucket and database; stopped and removed by `cleanup`.
 */
export async function startSharedBackends(cleanup: CleanupStack, prefix = 'lxchunk'): Promise<SharedBackends> {
  const [moto, postgres] = await Promise.all([startMotoServer(), startPrivatePostgres()]);
  cleanup.add('stop moto_server', () => moto.stop());
  cleanup.add('stop the private PostgreSQL', () => postgres.stop());
  const bucket = await createTestBucket(moto.endpoint, 'lxchunk-bench');
  // Emptying a bucket of a few hundred thousand objects on moto takes long; stopping moto frees them all.
  cleanup.add('release the S3 client', () => bucket.client.destroy());
  const databaseUrl = await freshDatabaseUrl(postgres.url);
  const motoPort = new URL(moto.endpoint).port;
  const postgresPort = new URL(postgres.url).port;
  const [motoPid, postgresPid] = await Promise.all([
    findPid((argv) => argv.some((arg) => arg.endsWith('moto_server')) && hasOption(argv, '-p', motoPort)),
    findPid((argv) => /(^|\/)postgres$/.test(argv[0] ?? '') && hasOption(argv, '-p', postgresPort)),
  ]);
  return {
    moto,
    bucket,
    prefix,
    databaseUrl,
    storageArgs: ['--chunks', `s3://${bucket.bucket}/${prefix}`, '--metadata', databaseUrl],
    motoPid,
    postgresPid,
  };
}

function hasOption(argv: readonly string[], flag: string, value: string): boolean {
  return argv.some((arg, i) => (arg === flag && argv[i + 1] === value) || arg === `${flag}${value}`);
}
