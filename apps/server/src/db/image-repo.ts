import type Database from 'better-sqlite3';
import { ConflictError, ImageInUseError } from '@lxchunk/errors';
import type { ImageSummary as WireImageSummary } from '@lxchunk/format';
import { fromBlob, toBlob } from './blob-ids.js';
import { imageFields, imageSummary, type ImageRow } from './image-row.js';
import { validateNewImage, type ValidNewImage } from './validate-new-image.js';

/** What a push stores: the manifest's bytes plus the fields the server filters and authorizes on. */
export interface NewImage extends Omit<WireImageSummary, 'aliases'> {
  /** The exact manifest bytes; served back as is. */
  readonly manifest: Uint8Array;
  /** Every chunk the manifest references; duplicates allowed (stored once). */
  readonly chunkIds: readonly string[];
}

/** An image as listed: the wire summary plus what only the server keeps (sent along, unused by clients). */
export interface ImageSummary extends WireImageSummary {
  /** Number of distinct chunks referenced. */
  readonly chunkCount: number;
  /** Epoch ms when the server stored it. */
  readonly pushedAt: number;
}

export interface StoredImage extends Omit<ImageSummary, 'aliases'> {
  manifest: Buffer;
  /** Distinct chunk ids, in ascending hex order (the manifest has the file order). */
  chunkIds: string[];
}

export interface ImageListFilter {
  /** Only the image this alias currently targets. */
  alias?: string | undefined;
  architecture?: string | undefined;
  /** Every given key must be present with exactly this value. */
  properties?: Readonly<Record<string, string>> | undefined;
  /** Anonymous callers: leave private images out. */
  publicOnly: boolean;
}

export type ChunkAccess = 'public' | 'private' | 'none';


const SUMMARY_COLUMNS = `i.fingerprint, i.type, i.architecture, i.created, i.public, i.properties, i.size, i.chunk_count, i.pushed_at`;

export class ImageRepo {
  private readonly stmt;
  private readonly putTx;
  private readonly deleteTx;

  constructor(
    private readonly db: Database.Database,
    private readonly now: () => number,
  ) {
    this.stmt = {
      sameManifest: db.prepare<[Buffer, Buffer], { same: 0 | 1 }>(`SELECT manifest = ? AS same FROM images WHERE fingerprint = ?`),
      insertImage: db.prepare(
        `INSERT INTO images (fingerprint, type, architecture, created, public, properties, size, chunk_count, pushed_at, manifest)
         VALUES (@fingerprint, @type, @architecture, @created, @public, @properties, @size, @chunkCount, @pushedAt, @manifest)`,
      ),
      insertChunk: db.prepare<[number | bigint, Buffer, number]>(`INSERT INTO image_chunks (image_id, chunk_id, public) VALUES (?, ?, ?)`),
      get: db.prepare<[Buffer], ImageRow & { id: number; manifest: Buffer }>(
        `SELECT i.id, ${SUMMARY_COLUMNS}, i.manifest FROM images i WHERE i.fingerprint = ?`,
      ),
      summary: db.prepare<[Buffer], ImageRow & { aliases: string }>(
        `SELECT ${SUMMARY_COLUMNS},
                (SELECT json_group_array(name) FROM (SELECT name FROM aliases WHERE target = i.fingerprint ORDER BY name)) AS aliases
         FROM images i WHERE i.fingerprint = ?`,
      ),
      manifest: db.prepare<[Buffer], { manifest: Buffer; public: 0 | 1 }>(`SELECT manifest, public FROM images WHERE fingerprint = ?`),
      chunkIds: db.prepare<[number], Buffer>(`SELECT chunk_id FROM image_chunks WHERE image_id = ? ORDER BY chunk_id`).pluck(),
      has: db.prepare<[Buffer], 1>(`SELECT 1 FROM images WHERE fingerprint = ?`).pluck(),
      list: db.prepare<
        { publicOnly: number; architecture: string | null; alias: string | null },
        ImageRow & { aliases: string }
      >(
        `SELECT ${SUMMARY_COLUMNS},
                (SELECT json_group_array(name) FROM (SELECT name FROM aliases WHERE target = i.fingerprint ORDER BY name)) AS aliases
         FROM images i
         WHERE (@publicOnly = 0 OR i.public = 1)
           AND (@architecture IS NULL OR i.architecture = @architecture)
           AND (@alias IS NULL OR i.fingerprint = (SELECT target FROM aliases WHERE name = @alias))
         ORDER BY i.pushed_at DESC, i.id DESC`,
      ),
      aliasesOf: db.prepare<[Buffer], string>(`SELECT name FROM aliases WHERE target = ? ORDER BY name`).pluck(),
      deleteImage: db.prepare<[Buffer]>(`DELETE FROM images WHERE fingerprint = ?`),
      // One probe of image_chunks_by_chunk (chunk_id, public), read backwards: public rows first.
      chunkAccess: db
        .prepare<[Buffer], 0 | 1>(`SELECT public FROM image_chunks WHERE chunk_id = ? ORDER BY public DESC LIMIT 1`)
        .pluck(),
      isReferenced: db.prepare<[Buffer], 1>(`SELECT 1 FROM image_chunks WHERE chunk_id = ? LIMIT 1`).pluck(),
      referencing: db
        .prepare<[Buffer], Buffer>(
          `SELECT i.fingerprint FROM image_chunks c JOIN images i ON i.id = c.image_id WHERE c.chunk_id = ? ORDER BY i.id`,
        )
        .pluck(),
      isPublic: db.prepare<[Buffer], 0 | 1>(`SELECT public FROM images WHERE fingerprint = ?`).pluck(),
      count: db.prepare<[], number>(`SELECT count(*) FROM images`).pluck(),
      referencedCount: db.prepare<[], number>(`SELECT count(*) FROM (SELECT DISTINCT chunk_id FROM image_chunks)`).pluck(),
    };
    this.putTx = db.transaction((image: NewImage, { fingerprint: fp, manifest, chunks }: ValidNewImage): 'created' | 'exists' => {
      const existing = this.stmt.sameManifest.get(manifest, fp);
      if (existing) {
        if (existing.same === 1) return 'exists';
        throw new ConflictError(`image ${image.fingerprint} is already stored with a different manifest`, {
          fingerprint: image.fingerprint,
        });
      }
      const pub = image.public ? 1 : 0;
      const { lastInsertRowid } = this.stmt.insertImage.run({
        fingerprint: fp,
        type: image.type,
        architecture: image.architecture,
        created: image.created,
        public: pub,
        properties: JSON.stringify(image.properties),
        size: image.size,
        chunkCount: chunks.length,
        pushedAt: this.now(),
        manifest,
      });
      for (const chunk of chunks) this.stmt.insertChunk.run(lastInsertRowid, chunk, pub);
      return 'created';
    });
    this.deleteTx = db.transaction((fingerprint: string, fp: Buffer): boolean => {
      const aliases = this.stmt.aliasesOf.all(fp);
      if (aliases.length > 0) throw new ImageInUseError(fingerprint, aliases);
      return this.stmt.deleteImage.run(fp).changes > 0;
    });
  }

  /**
   * Stores an image. The same fingerprint with byte-identical manifest is 'exists' (nothing
   * changes, pushedAt stays); with different bytes it is a ConflictError.
   */
  put(image: NewImage): 'created' | 'exists' {
    return this.putTx.immediate(image, validateNewImage(image));
  }

  /**
   * Everything, including every distinct chunk id: O(chunks). For a read-access check use isPublic,
   * to serve the manifest use manifest(), for listing fields use summary().
   */
  get(fingerprint: string): StoredImage | undefined {
    const row = this.stmt.get.get(toBlob(fingerprint, 'fingerprint'));
    if (!row) return undefined;
    return { ...imageFields(row), manifest: row.manifest, chunkIds: this.stmt.chunkIds.all(row.id).map(fromBlob) };
  }

  /** Like get, without the manifest bytes and chunk ids, plus the aliases targeting it. */
  summary(fingerprint: string): ImageSummary | undefined {
    const row = this.stmt.summary.get(toBlob(fingerprint, 'fingerprint'));
    return row ? imageSummary(row) : undefined;
  }

  /** The manifest bytes and the public flag: all that serving GET /v1/images/{fp} needs. */
  manifest(fingerprint: string): { manifest: Buffer; public: boolean } | undefined {
    const row = this.stmt.manifest.get(toBlob(fingerprint, 'fingerprint'));
    return row ? { manifest: row.manifest, public: row.public === 1 } : undefined;
  }

  /** The image's public flag; undefined when it is not stored. The cheap check for read access. */
  isPublic(fingerprint: string): boolean | undefined {
    const pub = this.stmt.isPublic.get(toBlob(fingerprint, 'fingerprint'));
    return pub === undefined ? undefined : pub === 1;
  }

  has(fingerprint: string): boolean {
    return this.stmt.has.get(toBlob(fingerprint, 'fingerprint')) !== undefined;
  }

  /** Newest pushedAt first. */
  list(filter: ImageListFilter): ImageSummary[] {
    const rows = this.stmt.list.all({
      publicOnly: filter.publicOnly ? 1 : 0,
      architecture: filter.architecture ?? null,
      alias: filter.alias ?? null,
    });
    const wanted = Object.entries(filter.properties ?? {});
    const summaries = rows.map(imageSummary);
    if (wanted.length === 0) return summaries;
    return summaries.filter((s) => wanted.every(([key, value]) => Object.hasOwn(s.properties, key) && s.properties[key] === value));
  }

  /**
   * Deletes an image and its chunk references (not the chunks: that is garbage collection's job,
   * nor its alias history). False when there was no such image. ImageInUseError while an alias
   * targets it.
   */
  delete(fingerprint: string): boolean {
    return this.deleteTx.immediate(fingerprint, toBlob(fingerprint, 'fingerprint'));
  }

  /** 'public' if a public image references the chunk, else 'private' if any image does, else 'none'. */
  chunkAccess(id: string): ChunkAccess {
    const pub = this.stmt.chunkAccess.get(toBlob(id, 'chunk id'));
    return pub === undefined ? 'none' : pub === 1 ? 'public' : 'private';
  }

  chunkAccessMany(ids: readonly string[]): Map<string, ChunkAccess> {
    return new Map(ids.map((id) => [id, this.chunkAccess(id)]));
  }

  referencedAmong(ids: readonly string[]): Set<string> {
    return new Set(ids.filter((id) => this.isReferenced(id)));
  }

  isReferenced(id: string): boolean {
    return this.stmt.isReferenced.get(toBlob(id, 'chunk id')) !== undefined;
  }

  /** Fingerprints of the images referencing the chunk (for a dry-run GC that pretends some are gone). */
  referencingImages(id: string): string[] {
    return this.stmt.referencing.all(toBlob(id, 'chunk id')).map(fromBlob);
  }

  /** Number of images stored. */
  count(): number {
    return this.stmt.count.get() ?? 0;
  }

  /** Number of distinct chunks referenced by any image. */
  referencedCount(): number {
    return this.stmt.referencedCount.get() ?? 0;
  }
}
