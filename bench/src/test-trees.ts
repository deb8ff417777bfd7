/**
 * The root filesystem versions the benchmarks compare, and what any recipe that builds them
 * (Debian via debootstrap, or the host fallback) must provide.
 */

/** In build order: each version may be derived from the ones before it. */
export const TREE_VERSIONS = ['base', 'rebuild', 'update', 'add-packages'] as const;
export type TreeVersion = (typeof TREE_VERSIONS)[number];

export type TreeSource = 'debootstrap' | 'host-usr-fallback';

/** What building one version did, for the benchmark's report. */
export interface TreeBuildResult {
  /** Human-readable: which packages changed, which mirror was used, any warning. */
  readonly notes: readonly string[];
}

export interface TreeRecipe {
  readonly source: TreeSource;
  /** Bump when the recipe changes, so cached trees built by the old recipe are rebuilt. */
  readonly revision: number;
  /**
   * Builds `version` into `dir` (which does not exist yet). `earlier` gives the directory of a
   * version built before it in TREE_VERSIONS order, for versions derived from an earlier one (and
   * throws for one not built yet).
   */
  build(version: TreeVersion, dir: string, earlier: (name: TreeVersion) => string): Promise<TreeBuildResult>;
}
