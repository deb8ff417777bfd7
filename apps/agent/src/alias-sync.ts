import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChunkServerClient } from '@lxchunk/client';
import { AliasNotFoundError } from '@lxchunk/errors';
import type { ImageManifest } from '@lxchunk/format';
import type { LxdClient, LxdImageInfo } from '@lxchunk/lxd';
import { PRIVATE_DIR } from '@lxchunk/store';
import { fetchManifest, pullImage, type ManifestCache, type RebuildPreference, type Seed } from '@lxchunk/sync';
import { MANAGED_PROPERTY, managedProperties } from './agent-config.js';
import type { ImportJournal } from './import-journal.js';
import type { SeedIndexes } from './seed-indexes.js';
import { removeStalePulls } from './stale-pulls.js';
import { pauseForTest } from './test-pause.js';
import { pruneImported } from './prune-imported.js';

export type SyncAction = 'unchanged' | 'alias-updated' | 'imported';

export interface SyncResult {
  readonly alias: string;
  readonly fingerprint: string;
  readonly action: SyncAction;
  readonly bytesFetched: number;
  readonly bytesReused: number;
  /** xz blocks rebuilt from content instead of fetched compressed. */
  readonly blocksRebuilt: number;
  /** Fetched chunks that came as deltas against chunks of the images LXD held. */
  readonly chunksAsDeltas: number;
  /** Images removed by retention after this sync. */
  readonly pruned: readonly string[];
}

export interface AliasSyncContext {
  readonly client: ChunkServerClient;
  readonly lxd: LxdClient;
  readonly serverUrl: string;
  readonly workDir: string;
  readonly seedIndexes: SeedIndexes;
  /** Imports under way, so that a run killed in one is finished by the next (see finishInterruptedImports). */
  readonly imports: ImportJournal;
  /** Manifests of pulled images: the server compresses the next manifest against one of them. */
  readonly manifests: ManifestCache;
  readonly keepImages: number;
  readonly prefer: RebuildPreference;
  readonly deltas: boolean;
  readonly log: (entry: Record<string, unknown>) => void;
  readonly signal?: AbortSignal;
}

/** Seeds chunked per sync at most: the same alias's earlier images first, then the newest others. */
const MAX_SEEDS = 3;
/** An interrupted pull untouched this long is not coming back: its files go. */
const STALE_PULL_MS = 24 * 3600 * 1000;

/**
 * Brings one LXD alias in line with the server's alias of the same name. If LXD already has the
 * image, only the alias moves. Otherwise the image is pulled (seeded by the images LXD holds),
 * imported with its fingerprint checked by LXD itself, and only then is the alias pointed at it,
 * so an alias never names a missing image. Each step is idempotent: killed anywhere, the next
 * run finishes the job (the pull resumes from what it had written).
 */
export async function syncAlias(context: AliasSyncContext, alias: string): Promise<SyncResult> {
  const { client, lxd, signal } = context;
  const remote = await client.getAlias(alias, { signal });
  if (!remote) throw new AliasNotFoundError(alias);
  const fingerprint = remote.target;
  const local = await lxd.getAlias(alias);
  let action: SyncAction = 'unchanged';
  let bytesFetched = 0;
  let bytesReused = 0;
  let blocksRebuilt = 0;
  let chunksAsDeltas = 0;

  if (!(await lxd.getImage(fingerprint))) {
    const pulled = await pullIntoLxd(context, alias, fingerprint, local?.target);
    bytesFetched = pulled.bytesFetched;
    bytesReused = pulled.bytesReused;
    blocksRebuilt = pulled.blocksRebuilt;
    chunksAsDeltas = pulled.chunksAsDeltas;
    action = 'imported';
  }
  if (local?.target !== fingerprint) {
    await lxd.setAlias(alias, fingerprint, `lxchunk: ${alias}`);
    if (action === 'unchanged') action = 'alias-updated';
  }
  const pruned = await pruneImported(context, alias, fingerprint);
  return { alias, fingerprint, action, bytesFetched, bytesReused, blocksRebuilt, chunksAsDeltas, pruned };
}

async function pullIntoLxd(
  context: AliasSyncContext,
  alias: string,
  fingerprint: string,
  previous: string | undefined,
): Promise<{ bytesFetched: number; bytesReused: number; blocksRebuilt: number; chunksAsDeltas: number }> {
  const { client, lxd, signal } = context;
  const receivedBefore = client.bytesReceived;
  // The image the alias pointed at is the likeliest to share most of the new manifest.
  const fetched = await fetchManifest(client, fingerprint, {
    manifests: context.manifests,
    ...(previous ? { preferredBase: previous } : {}),
    ...(signal ? { signal } : {}),
  });
  const { manifest } = fetched;
  const exportDir = exportDirOf(context.workDir);
  const seeds = await seedsFor(context, alias, manifest, exportDir);
  const outDir = join(context.workDir, 'pulls');
  await mkdir(outDir, PRIVATE_DIR);
  const stale = await removeStalePulls(outDir, fingerprint, STALE_PULL_MS);
  if (stale.length > 0) context.log({ level: 'info', msg: 'removed stale pulls', alias, removed: stale });
  try {
    const result = await pullImage({
      client,
      ref: fingerprint,
      outDir,
      seeds,
      manifest: fetched,
      prefer: context.prefer,
      deltas: context.deltas,
      onWarning: (message) => context.log({ level: 'warn', msg: message, alias }),
      ...(signal ? { signal } : {}),
    });
    const [metadata, rootfs] = result.files;
    const files = result.files.map((file) => file.path);
    await context.imports.begin({ alias, fingerprint, server: context.serverUrl, files });
    await pauseForTest('pulled', context.log);
    context.log({ level: 'info', msg: 'import started', alias, fingerprint });
    // Only the agent's marks: LXD takes the image's own properties from its metadata.yaml, which
    // the fingerprint covers. The manifest's copy is not covered, so it must not reach LXD.
    const marks = managedProperties(alias, context.serverUrl);
    try {
      await lxd.importImage({
        metadataPath: metadata!.path,
        ...(rootfs ? { rootfsPath: rootfs.path } : {}), // none for a unified image
        type: manifest.type,
        fingerprint,
        public: false,
        properties: marks,
        onImported: () => pauseForTest('imported', context.log),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      // LXD finished the upload of a run killed after sending it, since this run began: adopt it.
      if (signal?.aborted || !(await lxd.getImage(fingerprint))) throw err;
      await lxd.setImageProperties(fingerprint, marks);
    }
    // Counted from before the manifest request: pullImage was handed the manifest already fetched.
    const bytesFetched = client.bytesReceived - receivedBefore;
    context.log({
      level: 'info',
      msg: 'imported image',
      alias,
      fingerprint,
      bytesFetched,
      bytesReused: result.bytesReused,
      blocksRebuilt: result.blocksRebuilt,
      rebuildCpuSeconds: Number(result.rebuildCpuSeconds.toFixed(2)),
      chunksAsDeltas: result.chunksAsDeltas,
      seeds: seeds.length,
      manifestBase: fetched.base ?? null,
    });
    // LXD has its own copy now; the pulled files were only the vehicle.
    await Promise.all(files.map((file) => rm(file, { force: true })));
    await context.imports.end(fingerprint);
    return { bytesFetched, bytesReused: result.bytesReused, blocksRebuilt: result.blocksRebuilt, chunksAsDeltas: result.chunksAsDeltas };
  } finally {
    await rm(exportDir, { recursive: true, force: true });
  }
}

/** Where seeds LXD's directory does not expose are exported to, for one pull. */
export function exportDirOf(workDir: string): string {
  return join(workDir, 'exports');
}

/**
 * The images LXD already holds, as seeds with known indexes: the alias's own previous images
 * first. A split image is seeded by their rootfs files, a unified one by their unified tarballs.
 */
async function seedsFor(context: AliasSyncContext, alias: string, manifest: ImageManifest, exportDir: string): Promise<Seed[]> {
  const { lxd, signal } = context;
  const rootfs = manifest.files.find((file) => file.role !== 'metadata')!;
  const unified = rootfs.role === 'unified';
  const candidates = (await lxd.listImages())
    .filter((image) => image.type === manifest.type)
    .sort((a, b) => rank(b, alias) - rank(a, alias) || b.uploadedAt.localeCompare(a.uploadedAt))
    .slice(0, MAX_SEEDS);
  const seeds: Seed[] = [];
  for (const image of candidates) {
    let path = unified ? await lxd.localUnifiedPath(image.fingerprint) : await lxd.localRootfsPath(image.fingerprint);
    // A readable images directory without the tarball means a split image: nothing to export then.
    if (!path && !(unified && lxd.lxdDir)) {
      // The images directory is not readable from here: LXD's export API still is.
      await mkdir(exportDir, PRIVATE_DIR);
      const exported = await lxd.exportImage(image.fingerprint, await mkdtemp(join(exportDir, 'seed-')));
      path = unified ? (exported.rootfs ? undefined : exported.metadata) : exported.rootfs;
    }
    if (!path) continue;
    const index = await context.seedIndexes.indexOf(image.fingerprint, path, rootfs.index, signal);
    if (index) seeds.push({ path, index });
  }
  return seeds;
}

function rank(image: LxdImageInfo, alias: string): number {
  return image.properties[MANAGED_PROPERTY] === alias ? 1 : 0;
}
