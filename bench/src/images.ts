/**
 * Real LXD-style squashfs test images, built once and cached: Debian bookworm minbase root trees
 * in four versions (see debian-trees.ts), each packed with distrobuilder's mksquashfs options and
 * with the chunk-friendly -no-fragments profile. Benchmarks compare an `old` image a host already
 * holds with a `new` one it must fetch.
 *
 * Cache layout (under .bench-cache/, git-ignored):
 *   debs/                                       debootstrap's package cache
 *   <source>/trees/<version>/ + <version>.json  root trees and what building them did
 *   <source>/images/<version>.<profile>.squashfs (+ .json)
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedBuild, type CacheRecord } from './build-cache.js';
import { candidateMirrors } from './debian-mirrors.js';
import { DebianTreeRecipe, DebootstrapFailedError } from './debian-trees.js';
import { HostTreeRecipe } from './host-trees.js';
import { buildSquashfs, SQUASHFS_PROFILES, type SquashfsProfile } from './squashfs.js';
import { TREE_VERSIONS, type TreeRecipe, type TreeSource, type TreeVersion } from './test-trees.js';

export { SQUASHFS_PROFILES, type SquashfsProfile } from './squashfs.js';
export { TREE_VERSIONS, type TreeSource, type TreeVersion } from './test-trees.js';

export type ProfileName = SquashfsProfile['name'];

export interface PairSpec {
  readonly name: 'rebuild' | 'update' | 'add-packages';
  readonly old: TreeVersion;
  readonly new: TreeVersion;
  readonly description: string;
}

/** The upgrades users really produce, each from the image a host already holds. */
export const IMAGE_PAIRS: readonly PairSpec[] = [
  { name: 'rebuild', old: 'base', new: 'rebuild', description: 'the same recipe and packages, built again' },
  { name: 'update', old: 'base', new: 'update', description: 'the next nightly: rebuilt with a few package updates' },
  { name: 'add-packages', old: 'base', new: 'add-packages', description: 'the recipe gained four packages' },
];

export interface TreeRecord extends CacheRecord {
  readonly version: TreeVersion;
  readonly source: TreeSource;
  readonly builtAt: string;
  readonly buildSeconds: number;
  readonly notes: readonly string[];
}

interface ImageRecord extends CacheRecord {
  readonly size: number;
  readonly builtAt: string;
  readonly buildSeconds: number;
}

export interface TestImage {
  readonly version: TreeVersion;
  readonly profile: ProfileName;
  readonly path: string;
  readonly size: number;
  /** How long mksquashfs took when this image was built (maybe in an earlier run). */
  readonly buildSeconds: number;
}

export interface ImagePair {
  readonly spec: PairSpec;
  readonly profile: ProfileName;
  readonly old: TestImage;
  readonly new: TestImage;
}

export interface TestImageSet {
  readonly source: TreeSource;
  /** Set when the images are the host fallback: why debootstrap could not be used. */
  readonly fallbackReason: string | undefined;
  readonly cacheDir: string;
  readonly trees: Readonly<Record<TreeVersion, TreeRecord>>;
  readonly images: readonly TestImage[];
  /** Every IMAGE_PAIRS entry for every profile. */
  readonly pairs: readonly ImagePair[];
  /** Time this call spent building; 0 when everything came from the cache. */
  readonly secondsBuilding: number;
}

export interface TestImageOptions {
  /** Defaults to $LXCHUNK_BENCH_CACHE, else .bench-cache/ at the repository root. */
  readonly cacheDir?: string;
  /** Progress lines; defaults to stderr so stdout stays machine-readable. */
  readonly log?: (line: string) => void;
  /** 'auto' (the default) uses debootstrap and falls back to the host's /usr only if it cannot run. */
  readonly source?: TreeSource | 'auto';
  /**
   * Build only these leading tree versions (e.g. ['base'] for a benchmark of one image); the later
   * versions derive from the earlier ones. `pairs` is then empty. Defaults to all of them.
   */
  readonly versions?: readonly TreeVersion[];
}

export function defaultCacheDir(): string {
  // This module runs from bench/dist/, two levels below the repository root.
  return process.env['LXCHUNK_BENCH_CACHE'] ?? fileURLToPath(new URL('../../.bench-cache', import.meta.url));
}

/** Builds whatever the cache lacks and describes the full set of test images. */
export async function ensureTestImages(options: TestImageOptions = {}): Promise<TestImageSet> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const log = options.log ?? ((line: string) => process.stderr.write(`[images] ${line}\n`));
  const started = performance.now();
  const source = options.source ?? 'auto';
  const versions = options.versions ?? TREE_VERSIONS;
  if (versions.some((v, i) => v !== TREE_VERSIONS[i])) throw new Error(`versions must be a prefix of ${TREE_VERSIONS.join(', ')}`);

  let recipe: TreeRecipe;
  let fallbackReason: string | undefined;
  if (source === 'host-usr-fallback') {
    recipe = new HostTreeRecipe();
    fallbackReason = 'requested explicitly';
  } else {
    recipe = new DebianTreeRecipe(await candidateMirrors(), join(cacheDir, 'debs'), log);
  }

  let built: BuiltSet;
  try {
    built = await buildAll(recipe, join(cacheDir, recipe.source), log, versions);
  } catch (err) {
    if (!(err instanceof DebootstrapFailedError) || source !== 'auto') throw err;
    fallbackReason = err.message;
    log(`WARNING: debootstrap cannot run here, falling back to trees made of this host's /usr:\n${err.message}`);
    recipe = new HostTreeRecipe();
    built = await buildAll(recipe, join(cacheDir, recipe.source), log, versions);
  }

  const secondsBuilding = built.builtAnything ? round1((performance.now() - started) / 1000) : 0;
  return {
    source: recipe.source,
    fallbackReason,
    cacheDir,
    trees: built.trees,
    images: built.images,
    pairs: versions.length === TREE_VERSIONS.length ? pairsOf(built.images) : [],
    secondsBuilding,
  };
}

interface BuiltSet {
  readonly trees: Record<TreeVersion, TreeRecord>;
  readonly images: TestImage[];
  readonly builtAnything: boolean;
}

async function buildAll(recipe: TreeRecipe, dir: string, log: (line: string) => void, versions: readonly TreeVersion[]): Promise<BuiltSet> {
  let builtAnything = false;
  const trees = new Map<TreeVersion, TreeRecord>();
  const finished = new Map<TreeVersion, string>();
  for (const version of versions) {
    const target = join(dir, 'trees', version);
    // A tree is stale when the recipe changed or any tree it may derive from was rebuilt.
    const key = JSON.stringify({
      source: recipe.source,
      revision: recipe.revision,
      version,
      earlier: [...trees.values()].map((tree) => tree.builtAt),
    });
    const { record, built } = await cachedBuild<TreeRecord>(target, key, async (partial) => {
      log(`building the ${version} tree (${recipe.source}) …`);
      const t0 = performance.now();
      const earlier = (name: TreeVersion): string => {
        const path = finished.get(name);
        if (path === undefined) throw new Error(`the ${version} tree needs the ${name} tree, which was not built first`);
        return path;
      };
      const { notes } = await recipe.build(version, partial, earlier);
      return {
        version,
        source: recipe.source,
        builtAt: new Date().toISOString(),
        buildSeconds: round1((performance.now() - t0) / 1000),
        notes,
      };
    });
    if (built) log(`built the ${version} tree in ${record.buildSeconds} s`);
    builtAnything ||= built;
    trees.set(version, record);
    finished.set(version, target);
  }

  const images: TestImage[] = [];
  for (const version of versions) {
    const tree = trees.get(version);
    if (tree === undefined) throw new Error(`the ${version} tree is missing`);
    for (const profile of SQUASHFS_PROFILES) {
      const path = join(dir, 'images', `${version}.${profile.name}.squashfs`);
      const key = JSON.stringify({ tree: tree.builtAt, profile: profile.extraArgs });
      const { record, built } = await cachedBuild<ImageRecord>(path, key, async (partial) => {
        log(`mksquashfs ${version} (${profile.name}) …`);
        const t0 = performance.now();
        await buildSquashfs(join(dir, 'trees', version), partial, profile);
        return {
          size: (await stat(partial)).size,
          builtAt: new Date().toISOString(),
          buildSeconds: round1((performance.now() - t0) / 1000),
        };
      });
      if (built) log(`built ${path} (${record.size} bytes) in ${record.buildSeconds} s`);
      builtAnything ||= built;
      images.push({ version, profile: profile.name, path, size: record.size, buildSeconds: record.buildSeconds });
    }
  }
  return { trees: Object.fromEntries(trees) as Record<TreeVersion, TreeRecord>, images, builtAnything };
}

function pairsOf(images: readonly TestImage[]): ImagePair[] {
  const find = (version: TreeVersion, profile: ProfileName): TestImage => {
    const image = images.find((i) => i.version === version && i.profile === profile);
    if (image === undefined) throw new Error(`no ${version} image for the ${profile} profile`);
    return image;
  };
  return SQUASHFS_PROFILES.flatMap((profile) =>
    IMAGE_PAIRS.map((spec) => ({ spec, profile: profile.name, old: find(spec.old, profile.name), new: find(spec.new, profile.name) })),
  );
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
