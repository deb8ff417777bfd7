import express, { Router } from 'express';
import { assertHex64 } from '@lxchunk/chunker';
import { ChunksMissingError, ImageNotFoundError, InvalidInputError } from '@lxchunk/errors';
import { IMAGE_CHUNKS_MISSING_HEADER, MANIFEST_BASE_HEADER, MANIFEST_DICT_MEDIA_TYPE, MANIFEST_ZSTD_LEVEL, acceptsEncoding, compressZstdFrame, decodeManifest, manifestChunkIds, validateAliasName } from '@lxchunk/format';
import { principalOf } from '../authenticate.js';
import { declaredBodyLimit } from '../body-limit.js';
import { reserveBodyMemory } from '../reserve-body-memory.js';
import { canReadPrivate, requireScope } from '../principal.js';
import type { ServerContext } from '../server-context.js';

/** How many missing ids a refused manifest lists; the count is always exact. */
const MISSING_LISTED = 1000;

/** If-None-Match lists `etag` (or is `*`); weak validators match too, as GET allows. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const trimmed = tag.trim();
    return trimmed === '*' || trimmed.replace(/^W\//, '') === etag;
  });
}

export function imageRoutes(context: ServerContext): Router {
  const { db, config, keeper } = context;
  const router = Router();

  router.put('/v1/images/:fingerprint', declaredBodyLimit(config.limits.maxManifestBytes), reserveBodyMemory(context.uploadMemory, config.limits.maxManifestBytes), express.raw({ type: () => true, limit: config.limits.maxManifestBytes }), async (req, res) => {
    requireScope(principalOf(res), 'push');
    const fingerprint = req.params.fingerprint!;
    assertHex64(fingerprint, 'fingerprint');
    const bytes: Uint8Array = Buffer.isBuffer(req.body) ? req.body : new Uint8Array(0);
    const manifest = decodeManifest(bytes);
    if (manifest.fingerprint !== fingerprint) {
      throw new InvalidInputError(`the manifest is for ${manifest.fingerprint}, not ${fingerprint}`);
    }
    const chunkIds = manifestChunkIds(manifest);
    // Leasing the chunks first orders this commit with any GC (see ChunkKeeper): a chunk GC is
    // deleting counts as missing, and one it has not claimed yet it can no longer claim.
    const missing = await keeper.missing(chunkIds);
    if (missing.length > 0) throw new ChunksMissingError(missing.slice(0, MISSING_LISTED), missing.length);
    const outcome = await db.images.put({
      fingerprint,
      manifest: bytes,
      type: manifest.type,
      architecture: manifest.architecture,
      created: manifest.created,
      public: manifest.public,
      properties: manifest.properties,
      size: manifest.files.reduce((sum, file) => sum + file.index.size, 0),
      chunkIds,
    });
    if (outcome === 'created') context.storage.wrote();
    res.status(outcome === 'created' ? 201 : 200).json({ fingerprint, status: outcome });
  });

  // Before GET, which express would otherwise answer HEAD with. A pusher asks this before sending
  // a manifest: an image stored whole needs nothing sent again. The count is how many of its
  // chunks are absent now (quarantined as corrupt): then a push must upload them again.
  router.head('/v1/images/:fingerprint', async (req, res) => {
    const fingerprint = req.params.fingerprint!;
    assertHex64(fingerprint, 'fingerprint');
    const image = await db.images.get(fingerprint);
    if (!image || !(image.public || canReadPrivate(principalOf(res)))) throw new ImageNotFoundError(fingerprint);
    const absent = await keeper.absent(image.chunkIds);
    res.set({
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache',
      ETag: `"${fingerprint}"`,
      [IMAGE_CHUNKS_MISSING_HEADER]: String(absent.size),
    });
    res.status(200).end();
  });

  router.get('/v1/images/:fingerprint', async (req, res) => {
    const fingerprint = req.params.fingerprint!;
    assertHex64(fingerprint, 'fingerprint');
    const principal = principalOf(res);
    const readable = async (fp: string) => {
      const found = await db.images.manifest(fp);
      return found && (found.public || canReadPrivate(principal)) ? found : undefined;
    };
    const image = await readable(fingerprint);
    if (!image) throw new ImageNotFoundError(fingerprint);
    const base = req.query['base'];
    if (base !== undefined && typeof base !== 'string') throw new InvalidInputError('query parameter base must appear once');
    if (base !== undefined) assertHex64(base, 'base fingerprint');
    // A host that holds the manifest of an earlier image names it as `base`: compressed against
    // it, the new manifest costs about the index entries that changed. That body is its own media
    // type, sent only to those who list it in Accept: labelled as a Content-Encoding, curl and
    // browsers would try to decode it without the dictionary. An unknown or unreadable base is
    // ignored (the answer says which representation it is).
    const dictionary = base !== undefined && req.accepts(['application/json', MANIFEST_DICT_MEDIA_TYPE]) === MANIFEST_DICT_MEDIA_TYPE ? (await readable(base))?.manifest : undefined;
    const zstd = dictionary !== undefined || acceptsEncoding(req.headers['accept-encoding'], 'zstd');
    // Each representation has its own validator, so no cache confuses one with another.
    const etag = `"${fingerprint}${dictionary ? `.base-${base}` : zstd ? '.zstd' : ''}"`;
    res.set({
      'Content-Type': dictionary ? MANIFEST_DICT_MEDIA_TYPE : 'application/json',
      'Cache-Control': `${image.public ? 'public' : 'private'}, max-age=31536000, immutable`,
      ETag: etag,
      Vary: base !== undefined ? 'Accept, Accept-Encoding' : 'Accept-Encoding',
    });
    if (dictionary) res.set(MANIFEST_BASE_HEADER, base!);
    else if (zstd) res.set('Content-Encoding', 'zstd');
    if (matchesEtag(req.headers['if-none-match'], etag)) {
      res.status(304).end();
      return;
    }
    res.end(zstd ? compressZstdFrame(image.manifest, { level: MANIFEST_ZSTD_LEVEL, ...(dictionary ? { dictionary } : {}) }) : image.manifest);
  });

  router.get('/v1/images', async (req, res) => {
    const properties: Record<string, string> = {};
    let alias: string | undefined;
    let architecture: string | undefined;
    for (const [key, value] of Object.entries(req.query)) {
      if (typeof value !== 'string') throw new InvalidInputError(`query parameter ${key} must appear once`);
      if (key === 'alias') alias = validateAliasName(value);
      else if (key === 'architecture') architecture = value;
      else if (key.startsWith('property.') && key.length > 'property.'.length) properties[key.slice('property.'.length)] = value;
      else throw new InvalidInputError(`unknown query parameter ${JSON.stringify(key)}`);
    }
    const images = await db.images.list({ alias, architecture, properties, publicOnly: !canReadPrivate(principalOf(res)) });
    res.json({ images });
  });

  router.delete('/v1/images/:fingerprint', async (req, res) => {
    requireScope(principalOf(res), 'admin');
    const fingerprint = req.params.fingerprint!;
    assertHex64(fingerprint, 'fingerprint');
    if (!(await db.images.delete(fingerprint))) throw new ImageNotFoundError(fingerprint);
    res.status(204).end();
  });

  return router;
}
