import type { Command } from 'commander';
import { checkUserPath } from '@lxchunk/errors';
import { openMetadata, openStorage, type MetadataStore, type ServerStorage } from '@lxchunk/server';

/** Where a server's chunks and metadata are, for the commands that work on them directly. */
export interface StorageOptions {
  data?: string;
  chunks?: string;
  metadata?: string;
}

export const CHUNKS_HELP = 'chunks in an S3-compatible object store, s3://BUCKET[/PREFIX] (credentials and AWS_ENDPOINT_URL_S3 from the environment)';
export const METADATA_HELP = 'metadata in PostgreSQL, postgres://USER@HOST/DB (password from the URL or PGPASSWORD)';

/** Adds --data, --chunks and --metadata. */
export function withStorageOptions(command: Command, dataHelp: string): Command {
  return command.option('--data <dir>', dataHelp).option('--chunks <url>', CHUNKS_HELP).option('--metadata <url>', METADATA_HELP);
}

export function namesStorage(options: StorageOptions): boolean {
  return options.data !== undefined || options.chunks !== undefined || options.metadata !== undefined;
}

/** Opens existing storage: only `serve` creates a data dir, so a typo must not yield an empty one. */
export async function openExistingStorage(options: StorageOptions): Promise<ServerStorage> {
  if (options.data !== undefined) await checkUserPath('--data', options.data, 'dir');
  return openStorage({ dataDir: options.data, chunks: options.chunks, metadata: options.metadata, fsync: true });
}

/** The metadata alone (tokens): a data dir's database is created if need be, so tokens can exist before the first start. */
export function openStorageMetadata(options: StorageOptions): Promise<MetadataStore> {
  return openMetadata({ dataDir: options.data, metadata: options.metadata });
}
