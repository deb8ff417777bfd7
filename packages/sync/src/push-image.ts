import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sha256Worker, defaultParamsFor, type ChunkMethod, type ChunkParams } from '@lxchunk/chunker';
import { MAX_UPLOAD_CHUNKS, forEachBounded, type AliasInfo, type ChunkServerClient } from '@lxchunk/client';
import { InvalidInputError, crashPoint, isLxchunkError } from '@lxchunk/errors';
import { encodeManifest, validateAliasName, type ImageFile, type ImageManifest, type RebuiltBlock } from '@lxchunk/format';
import { toIsoUtc } from '@lxchunk/image';
import { XZ_ENCODER, XzPool, selfTest } from '@lxchunk/xz';
import { fetchManifest } from './fetch-manifest.js';
import { chunkImageFile } from './chunk-image-file.js';
import { describeXzContent } from './describe-xz-content.js';
import { planImage } from './image-files.js';
import { LocalChunks } from './local-chunks.js';
import { squashfsAdvice } from './squashfs-advice.js';
import type { ProgressListener } from './progress-event.js';

/** Chunk bytes per upload request: large enough to amortise a request, small enough to keep a few in flight. */
const UPLOAD_BATCH_BYTES = 8 * 1024 * 1024;
/** Manifest commits tried when the server answers CHUNKS_MISSING, each after re-uploading. */
const COMMIT_ATTEMPTS = 3;
/** Ids per background missing-chunk query during the scan. */
const MISSING_CHECK_BATCH = 8192;

export interface PushOptions {
  readonly client: ChunkServerClient;
  /** A split image's metadata tarball, or a unified image's tarball (then no rootfsPath). */
  readonly metadataPath: string;
  readonly rootfsPath?: string;
  readonly aliases?: readonly string[];
  readonly public?: boolean;
  /** Chunk sizes for both files; default: the default of each file's method (defaultParamsFor). */
  readonly params?: ChunkParams;
  /** How to cut the rootfs (or unified tarball); default 'squashfs' for a squashfs rootfs, else 'cdc'. */
  readonly rootfsMethod?: ChunkMethod;
  /**
   * Describe an xz squashfs rootfs by content too (blocks that re-encode exactly, and the chunks
   * of what they hold), so hosts can fetch content and rebuild blocks. Default true.
   */
  readonly content?: boolean;
  /** Threads that re-encode xz blocks; default every core. */
  readonly xzThreads?: number;
  /** Upload batches (about 8 MiB each) in flight at once; default 4. */
  readonly concurrency?: number;
  readonly onProgress?: ProgressListener;
  readonly signal?: AbortSignal;
}

export interface AliasMove {
  readonly name: string;
  readonly version: number;
  /** The fingerprint it pointed at before, if any. */
  readonly previous: string | null;
  readonly changed: boolean;
}

export interface PushResult {
  readonly fingerprint: string;
  readonly type: ImageManifest['type'];
  readonly manifestStatus: 'created' | 'exists';
  /** Sum of the image's file sizes. */
  readonly bytesTotal: number;
  /** Every request body byte sent: chunks, the missing-check, the manifest, alias moves. */
  readonly bytesUploaded: number;
  readonly chunksTotal: number;
  readonly chunksUploaded: number;
  readonly aliases: readonly AliasMove[];
  /** How the image was built in ways that make its updates dedup badly (see squashfsAdvice). */
  readonly warnings: readonly string[];
  /** For an xz squashfs described by content: how its blocks went, and what finding recipes cost. */
  readonly content?: PushContentReport;
}

export interface PushContentReport {
  readonly blocksRebuilt: number;
  /** Of blocksRebuilt: recipes taken from the image an alias pointed at, without re-encoding. */
  readonly blocksReused: number;
  readonly blocksKept: number;
  /** Bytes of the content stream (what the rebuilt blocks decompress to). */
  readonly contentBytes: number;
  readonly contentChunks: number;
  /** Worker CPU seconds spent re-encoding blocks to find their recipes. */
  readonly cpuSeconds: number;
}

/**
 * Pushes one LXD image, split or unified: chunks each file in one pass (LXD's fingerprint, sha256
 * of metadata ‖ rootfs or of the unified tarball, computed on the way), asks the server which chunks it lacks, uploads only
 * those, commits the manifest, then moves each alias by compare-and-swap. Running it again
 * uploads nothing, not even the manifest: the server is asked first whether it holds the image
 * whole. An interrupted push, run again, uploads only what is still missing.
 */
export async function pushImage(options: PushOptions): Promise<PushResult> {
  const { client, signal } = options;
  const aliases = (options.aliases ?? []).map(validateAliasName);
  const sentBefore = client.bytesSent;
  const plan = await planImage(options.metadataPath, options.rootfsPath, options.rootfsMethod);
  const { metadata } = plan;

  const warnings: string[] = [...plan.warnings];
  const sha256 = new Sha256Worker();
  let contentReport: PushContentReport | undefined;
  // The content stream of an xz rootfs is written here, then read back for the upload.
  let contentDir: string | undefined;
  const contentStreams: Array<{ path: string; chunks: ReadonlyArray<{ id: string; length: number }> }> = [];
  // The server is asked which chunks it lacks while the scan goes on, a batch at a time.
  const missingCheck = new MissingCheck(client, signal);
  let manifest: ImageManifest;
  let state: Awaited<ReturnType<ChunkServerClient['imageState']>>;
  try {
    const fingerprintHash = sha256.create();
    let scanned = 0;
    let scanTotal = 0;
    for (const file of plan.files) scanTotal += (await stat(file.path)).size;
    const files: ImageFile[] = [];
    const xzFiles: number[] = [];
    for (const { path, role, method } of plan.files) {
      const base = scanned;
      const { squashfs, ...index } = await chunkImageFile(path, {
        method,
        params: options.params ?? defaultParamsFor(method),
        sha256,
        alsoHash: [fingerprintHash],
        signal,
        onChunk: ({ id }) => missingCheck.add(id),
        onProgress: (done) => options.onProgress?.({ phase: 'scan', done: base + done, total: scanTotal }),
      });
      scanned += index.size;
      if (squashfs) warnings.push(...squashfsAdvice(squashfs));
      if (squashfs?.superblock.compression === 'xz' && options.content !== false) xzFiles.push(files.length);
      files.push({ role, index });
    }
    const fingerprint = await sha256.digest(fingerprintHash);
    // Asked before the content is described (seconds of CPU per image) and before the
    // missing-check and the manifest: an image stored whole needs none of them again. One whose
    // chunks were lost since (quarantined) goes the full way, which uploads them again.
    state = await client.imageState(fingerprint, { signal });
    if (!(state.stored && state.chunksMissing === 0) && xzFiles.length > 0) {
      const check = selfTest();
      if (!check.ok) warnings.push(`xz blocks are sent compressed only: ${check.reason}`);
      const knownRecipes = check.ok ? await recipesOfAliasTargets(client, aliases, signal) : new Map();
      for (const i of check.ok ? xzFiles : []) {
        const { role, index } = files[i]!;
        contentDir ??= await mkdtemp(join(tmpdir(), 'lxchunk-push-'));
        const streamPath = join(contentDir, `${role}.content`);
        const pool = new XzPool(options.xzThreads !== undefined ? { threads: options.xzThreads } : {});
        try {
          const described = await describeXzContent(plan.files[i]!.path, {
            pool,
            streamPath,
            sha256,
            knownRecipes,
            onChunk: ({ id }) => missingCheck.add(id),
            onProgress: (done) => options.onProgress?.({ phase: 'content', done, total: index.size }),
            ...(signal ? { signal } : {}),
          });
          contentStreams.push({ path: streamPath, chunks: described.content.index.chunks });
          contentReport = {
            blocksRebuilt: described.blocksRebuilt,
            blocksReused: described.blocksReused,
            blocksKept: described.blocksKept,
            contentBytes: described.content.index.size,
            contentChunks: described.content.index.chunks.length,
            cpuSeconds: described.cpuSeconds,
          };
          files[i] = { role, index, content: described.content };
        } finally {
          await pool.close();
        }
      }
    }
    manifest = {
      // LXD's fingerprint: sha256 of metadata ‖ rootfs, or of the unified tarball alone.
      fingerprint,
      type: plan.type,
      architecture: metadata.architecture,
      created: toIsoUtc(metadata.creationDate),
      public: options.public ?? false,
      properties: metadata.properties,
      files,
    };
  } catch (err) {
    await missingCheck.abandon();
    if (contentDir) await rm(contentDir, { recursive: true, force: true });
    throw err;
  } finally {
    await sha256.close();
  }
  const manifestBytes = encodeManifest(manifest);

  const local = new LocalChunks();
  for (const [i, file] of plan.files.entries()) local.addFile(file.path, manifest.files[i]!.index.chunks);
  for (const stream of contentStreams) local.addFile(stream.path, stream.chunks);
  const lengths = new Map<string, number>();
  for (const file of manifest.files) for (const chunk of [...file.index.chunks, ...(file.content?.index.chunks ?? [])]) lengths.set(chunk.id, chunk.length);

  let chunksUploaded = 0;
  try {
    const storedWhole = state.stored && state.chunksMissing === 0;
    const upload = async (ids: readonly string[]) => {
      const total = ids.reduce((sum, id) => sum + lengths.get(id)!, 0);
      let done = 0;
      // A failed batch stops the others before the push returns: they read the files `local` closes.
      await forEachBounded(
        uploadBatches(ids, lengths),
        options.concurrency ?? 4,
        async (batch, _index, batchSignal) => {
          const chunks: Array<{ id: string; bytes: Uint8Array }> = [];
          for (const id of batch) {
            batchSignal.throwIfAborted();
            const bytes = await local.read(id);
            // The id came from these very bytes moments ago: a mismatch means the file changed under us.
            if (!bytes) throw new InvalidInputError(`chunk ${id} of the image no longer reads back: was a file modified during the push?`);
            chunks.push({ id, bytes });
          }
          await client.putChunks(chunks, { signal: batchSignal });
          crashPoint('push.upload');
          chunksUploaded += chunks.length;
          done += chunks.reduce((sum, chunk) => sum + chunk.bytes.length, 0);
          options.onProgress?.({ phase: 'upload', done, total });
        },
        signal,
      );
    };
    let manifestStatus: 'created' | 'exists' | undefined;
    if (storedWhole) {
      await missingCheck.abandon();
      manifestStatus = 'exists';
    } else {
      await upload(await missingCheck.finish());
    }
    for (let attempt = 1; !manifestStatus; attempt++) {
      try {
        manifestStatus = await client.putManifest(manifest.fingerprint, manifestBytes, { signal });
      } catch (err) {
        if (!isLxchunkError(err, 'CHUNKS_MISSING') || attempt >= COMMIT_ATTEMPTS) throw err;
        // A chunk the server had was lost since it said so (found corrupt and moved aside, or a
        // lease ran out during a very long push): ask again about every chunk, which also renews
        // their leases, upload what it lacks now, and commit again.
        const recheck = new MissingCheck(client, signal);
        for (const id of lengths.keys()) recheck.add(id);
        await upload(await recheck.finish());
      }
    }
    crashPoint('push.commit');
    const moves: AliasMove[] = [];
    for (const name of aliases) moves.push(await moveAlias(client, name, manifest.fingerprint, signal));
    return {
      fingerprint: manifest.fingerprint,
      type: manifest.type,
      manifestStatus,
      bytesTotal: manifest.files.reduce((sum, file) => sum + file.index.size, 0),
      bytesUploaded: client.bytesSent - sentBefore,
      chunksTotal: lengths.size,
      chunksUploaded,
      aliases: moves,
      warnings,
      ...(contentReport ? { content: contentReport } : {}),
    };
  } finally {
    await local.close();
    if (contentDir) await rm(contentDir, { recursive: true, force: true });
  }
}

/**
 * The recipes of the images the aliases point at now (the previous build, usually): blocks whose
 * stored bytes did not change keep their recipe, so a nightly re-encodes only its changed blocks.
 * Best effort: an alias that does not exist yet, or an image without content, offers none.
 */
async function recipesOfAliasTargets(
  client: ChunkServerClient,
  aliases: readonly string[],
  signal: AbortSignal | undefined,
): Promise<Map<string, Pick<RebuiltBlock, 'contentLength' | 'filter' | 'dictSize'>>> {
  const recipes = new Map<string, Pick<RebuiltBlock, 'contentLength' | 'filter' | 'dictSize'>>();
  for (const name of aliases) {
    let manifest: ImageManifest;
    try {
      const alias = await client.getAlias(name, { signal });
      if (!alias) continue;
      manifest = (await fetchManifest(client, alias.target, signal ? { signal } : {})).manifest;
    } catch (err) {
      // A token that may push but not read it: the push goes on, re-encoding every block.
      signal?.throwIfAborted();
      if (isLxchunkError(err, 'UNAUTHORIZED') || isLxchunkError(err, 'FORBIDDEN') || isLxchunkError(err, 'IMAGE_NOT_FOUND') || isLxchunkError(err, 'ALIAS_NOT_FOUND')) continue;
      throw err;
    }
    for (const file of manifest.files) {
      if (file.content?.encoder !== XZ_ENCODER.id) continue;
      for (const { storedHash, contentLength, filter, dictSize } of file.content.blocks) recipes.set(storedHash, { contentLength, filter, dictSize });
    }
  }
  return recipes;
}

/**
 * Points `name` at `target` with compare-and-swap from the version just read: if another push
 * moves it in between, this fails with PRECONDITION_FAILED rather than silently overwriting.
 */
async function moveAlias(client: ChunkServerClient, name: string, target: string, signal: AbortSignal | undefined): Promise<AliasMove> {
  const current: AliasInfo | undefined = await client.getAlias(name, { signal });
  if (current?.target === target) return { name, version: current.version, previous: target, changed: false };
  const updated = await client.setAlias(name, target, current ? { version: current.version } : { absent: true }, undefined, { signal });
  return { name, version: updated.version, previous: current?.target ?? null, changed: true };
}

/** Upload batches in image order: about UPLOAD_BATCH_BYTES each, within the server's limits. */
function uploadBatches(ids: readonly string[], lengths: ReadonlyMap<string, number>): string[][] {
  const batches: string[][] = [];
  let batch: string[] = [];
  let bytes = 0;
  for (const id of ids) {
    const length = lengths.get(id)!;
    if (batch.length > 0 && (bytes + length > UPLOAD_BATCH_BYTES || batch.length >= MAX_UPLOAD_CHUNKS)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(id);
    bytes += length;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** Missing-chunk queries sent in the background as ids come in, so the scan and the server overlap. */
class MissingCheck {
  private readonly seen = new Set<string>();
  private batch: string[] = [];
  private readonly answers: Array<Promise<string[]>> = [];

  constructor(
    private readonly client: ChunkServerClient,
    private readonly signal: AbortSignal | undefined,
  ) {}

  add(id: string): void {
    if (this.seen.has(id)) return;
    this.seen.add(id);
    this.batch.push(id);
    if (this.batch.length >= MISSING_CHECK_BATCH) this.send();
  }

  /** Every id added that the server lacks, in the order added. */
  async finish(): Promise<string[]> {
    this.send();
    return (await Promise.all(this.answers)).flat();
  }

  /** Sends nothing more; waits for the queries already sent, whatever they answer. */
  async abandon(): Promise<void> {
    this.batch = [];
    await Promise.allSettled(this.answers);
  }

  private send(): void {
    if (this.batch.length === 0) return;
    const answer = this.client.missingChunks(this.batch, { signal: this.signal });
    answer.catch(() => undefined); // awaited in finish(); a scan that fails first never gets there
    this.answers.push(answer);
    this.batch = [];
  }
}
