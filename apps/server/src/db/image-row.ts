import type { ImageType } from '@lxchunk/format';
import { fromBlob } from './blob-ids.js';
import type { ImageSummary } from './image-repo.js';

/**
 * An images row as either database returns it: SQLite has 0/1 and JSON text where PostgreSQL has
 * booleans, jsonb (parsed) and arrays.
 */
export interface ImageRow {
  fingerprint: Uint8Array;
  type: ImageType;
  architecture: string;
  created: string;
  public: 0 | 1 | boolean;
  properties: string | Record<string, string>;
  size: number;
  chunk_count: number;
  pushed_at: number;
}

/** The summary fields of a row, without aliases. */
export function imageFields(row: ImageRow): Omit<ImageSummary, 'aliases'> {
  return {
    fingerprint: fromBlob(row.fingerprint),
    type: row.type,
    architecture: row.architecture,
    created: row.created,
    public: row.public === 1 || row.public === true,
    properties: typeof row.properties === 'string' ? (JSON.parse(row.properties) as Record<string, string>) : row.properties,
    size: row.size,
    chunkCount: row.chunk_count,
    pushedAt: row.pushed_at,
  };
}

/** A row with its aliases' names (a JSON array's text, or an array), sorted by the query. */
export function imageSummary(row: ImageRow & { aliases: string | string[] }): ImageSummary {
  return { ...imageFields(row), aliases: typeof row.aliases === 'string' ? (JSON.parse(row.aliases) as string[]) : row.aliases };
}
