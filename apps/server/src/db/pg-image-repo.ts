import type pg from 'pg';
import { ConflictError, ImageInUseError } from '@lxchunk/errors';
import { fromBlob, toBlob } from './blob-ids.js';
import { imageFields, imageSummary, type ImageRow } from './image-row.js';
import type { ChunkAccess, ImageListFilter, ImageSummary, NewImage, StoredImage } from './image-repo.js';
import type { ImageRepository } from './metadata-store.js';
import { FOREIGN_KEY_VIOLATION, pgErrorCode } from './pg-error-code.js';
import { inTransaction } from './pg-transaction.js';
import { validateNewImage } from './validate-new-image.js';

const SUMMARY_COLUMNS = `i.fingerprint, i.type, i.architecture, i.created, i.public, i.properties, i.size, i.chunk_count, i.pushed_at`;
const ALIAS_NAMES = `ARRAY(SELECT name FROM aliases WHERE target = i.fingerprint ORDER BY name COLLATE "C") AS aliases`;

/** Images in PostgreSQL: ImageRepo's semantics (image-repo.ts documents each method). */
export class PgImageRepo implements ImageRepository {
  constructor(
    private readonly pool: pg.Pool,
    private readonly now: () => number,
  ) {}

  async put(image: NewImage): Promise<'created' | 'exists'> {
    const { fingerprint, manifest, chunks } = validateNewImage(image);
    return inTransaction(this.pool, async (client) => {
      // ON CONFLICT waits for a concurrent push of the same fingerprint to commit, then compares.
      const inserted = await client.query<{ id: string }>(
        `INSERT INTO images (fingerprint, type, architecture, created, public, properties, size, chunk_count, pushed_at, manifest)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (fingerprint) DO NOTHING RETURNING id::text`,
        [fingerprint, image.type, image.architecture, image.created, image.public, JSON.stringify(image.properties), image.size, chunks.length, this.now(), manifest],
      );
      const id = inserted.rows[0]?.id;
      if (id === undefined) {
        const { rows } = await client.query<{ same: boolean }>(`SELECT manifest = $1 AS same FROM images WHERE fingerprint = $2`, [manifest, fingerprint]);
        if (rows[0]?.same) return 'exists';
        throw new ConflictError(`image ${image.fingerprint} is already stored with a different manifest`, { fingerprint: image.fingerprint });
      }
      await client.query(`INSERT INTO image_chunks (image_id, chunk_id, public) SELECT $1::bigint, unnest($2::bytea[]), $3::boolean`, [id, chunks, image.public]);
      return 'created';
    });
  }

  async get(fingerprint: string): Promise<StoredImage | undefined> {
    const { rows } = await this.pool.query<ImageRow & { manifest: Buffer; chunk_ids: Buffer[] }>(
      `SELECT ${SUMMARY_COLUMNS}, i.manifest,
              ARRAY(SELECT chunk_id FROM image_chunks WHERE image_id = i.id ORDER BY chunk_id) AS chunk_ids
       FROM images i WHERE i.fingerprint = $1`,
      [toBlob(fingerprint, 'fingerprint')],
    );
    const row = rows[0];
    return row ? { ...imageFields(row), manifest: row.manifest, chunkIds: row.chunk_ids.map(fromBlob) } : undefined;
  }

  async summary(fingerprint: string): Promise<ImageSummary | undefined> {
    const { rows } = await this.pool.query<ImageRow & { aliases: string[] }>(
      `SELECT ${SUMMARY_COLUMNS}, ${ALIAS_NAMES} FROM images i WHERE i.fingerprint = $1`,
      [toBlob(fingerprint, 'fingerprint')],
    );
    return rows[0] ? imageSummary(rows[0]) : undefined;
  }

  async manifest(fingerprint: string): Promise<{ manifest: Buffer; public: boolean } | undefined> {
    const { rows } = await this.pool.query<{ manifest: Buffer; public: boolean }>(`SELECT manifest, public FROM images WHERE fingerprint = $1`, [
      toBlob(fingerprint, 'fingerprint'),
    ]);
    return rows[0];
  }

  async isPublic(fingerprint: string): Promise<boolean | undefined> {
    const { rows } = await this.pool.query<{ public: boolean }>(`SELECT public FROM images WHERE fingerprint = $1`, [toBlob(fingerprint, 'fingerprint')]);
    return rows[0]?.public;
  }

  async has(fingerprint: string): Promise<boolean> {
    return (await this.isPublic(fingerprint)) !== undefined;
  }

  async list(filter: ImageListFilter): Promise<ImageSummary[]> {
    // jsonb containment of an object of strings: every given key present with exactly that value.
    const { rows } = await this.pool.query<ImageRow & { aliases: string[] }>(
      `SELECT ${SUMMARY_COLUMNS}, ${ALIAS_NAMES}
       FROM images i
       WHERE (NOT $1 OR i.public)
         AND ($2::text IS NULL OR i.architecture = $2)
         AND ($3::text IS NULL OR i.fingerprint = (SELECT target FROM aliases WHERE name = $3))
         AND i.properties @> $4::jsonb
       ORDER BY i.pushed_at DESC, i.id DESC`,
      [filter.publicOnly, filter.architecture ?? null, filter.alias ?? null, JSON.stringify(filter.properties ?? {})],
    );
    return rows.map(imageSummary);
  }

  async delete(fingerprint: string): Promise<boolean> {
    const fp = toBlob(fingerprint, 'fingerprint');
    const aliasesOf = async (client: pg.ClientBase | pg.Pool): Promise<string[]> =>
      (await client.query<{ name: string }>(`SELECT name FROM aliases WHERE target = $1 ORDER BY name COLLATE "C"`, [fp])).rows.map((r) => r.name);
    try {
      return await inTransaction(this.pool, async (client) => {
        const aliases = await aliasesOf(client);
        if (aliases.length > 0) throw new ImageInUseError(fingerprint, aliases);
        return ((await client.query(`DELETE FROM images WHERE fingerprint = $1`, [fp])).rowCount ?? 0) > 0;
      });
    } catch (err) {
      // An alias set on another replica after the check: the foreign key refuses the delete.
      if (pgErrorCode(err) !== FOREIGN_KEY_VIOLATION) throw err;
      throw new ImageInUseError(fingerprint, await aliasesOf(this.pool));
    }
  }

  async chunkAccess(id: string): Promise<ChunkAccess> {
    return (await this.chunkAccessMany([id])).get(id)!;
  }

  async chunkAccessMany(ids: readonly string[]): Promise<Map<string, ChunkAccess>> {
    const { rows } = await this.pool.query<{ id: string; pub: boolean }>(
      `SELECT encode(chunk_id, 'hex') AS id, bool_or(public) AS pub FROM image_chunks WHERE chunk_id = ANY($1::bytea[]) GROUP BY chunk_id`,
      [ids.map((id) => toBlob(id, 'chunk id'))],
    );
    const found = new Map(rows.map((r) => [r.id, r.pub ? 'public' : 'private'] as const));
    return new Map(ids.map((id) => [id, found.get(id) ?? 'none']));
  }

  async isReferenced(id: string): Promise<boolean> {
    return (await this.referencedAmong([id])).has(id);
  }

  async referencedAmong(ids: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT DISTINCT encode(chunk_id, 'hex') AS id FROM image_chunks WHERE chunk_id = ANY($1::bytea[])`,
      [ids.map((id) => toBlob(id, 'chunk id'))],
    );
    return new Set(rows.map((r) => r.id));
  }

  async referencingImages(id: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ fingerprint: Buffer }>(
      `SELECT i.fingerprint FROM image_chunks c JOIN images i ON i.id = c.image_id WHERE c.chunk_id = $1 ORDER BY i.id`,
      [toBlob(id, 'chunk id')],
    );
    return rows.map((r) => fromBlob(r.fingerprint));
  }

  async count(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*) AS n FROM images`);
    return rows[0]!.n;
  }

  async referencedCount(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(DISTINCT chunk_id) AS n FROM image_chunks`);
    return rows[0]!.n;
  }
}
