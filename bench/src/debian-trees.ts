import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withChroot } from './chroot.js';
import type { DebianMirrors } from './debian-mirrors.js';
import { diffInstalled, isUnchanged, readInstalled, type PackageChanges } from './dpkg-status.js';
import { run } from './exec.js';
import { copyTree, removeTree } from './fs-tree.js';
import type { TreeBuildResult, TreeRecipe, TreeVersion } from './test-trees.js';

const SUITE = 'bookworm';

/** debootstrap itself cannot run here (not installed, not root, no mirror reachable). */
export class DebootstrapFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DebootstrapFailedError';
  }
}
/** What a recipe change typically adds: small tools with a few libraries as dependencies. */
export const ADDED_PACKAGES: readonly string[] = ['curl', 'less', 'vim-tiny', 'iproute2'];
/** A typical nightly's worth of security updates (FACTS.md measured one with six). */
export const MAX_UPDATES = 6;

/**
 * Debian bookworm minbase trees, built the way distrobuilder builds them (debootstrap), standing in
 * for the builds users really publish:
 * - base: one debootstrap run, the image a host already holds;
 * - rebuild: a second, independent debootstrap run with the same packages: only generated files,
 *   logs and timestamps differ, as in a CI rebuild of an unchanged recipe;
 * - update: the rebuild plus up to MAX_UPDATES pending bookworm-security/-updates upgrades, i.e.
 *   the next nightly (a fresh build, so it carries the rebuild's differences too);
 * - add-packages: the rebuild plus ADDED_PACKAGES from bookworm itself, a recipe change.
 * Every tree ends with the same apt sources and without apt's package lists and caches, as a
 * published image would, so only the intended differences remain.
 */
export class DebianTreeRecipe implements TreeRecipe {
  readonly source = 'debootstrap' as const;
  readonly revision = 1;

  constructor(
    private readonly mirrorCandidates: readonly DebianMirrors[],
    /** debootstrap's package cache: rebuilds reuse the very same .debs and skip the download. */
    private readonly debCache: string,
    private readonly log: (line: string) => void,
  ) {}

  async build(version: TreeVersion, dir: string, earlier: (name: TreeVersion) => string): Promise<TreeBuildResult> {
    switch (version) {
      case 'base':
        return { notes: [`debootstrap --variant=minbase ${SUITE} from ${await this.bootstrap(dir)}`] };
      case 'rebuild':
        return this.rebuild(dir, earlier('base'));
      case 'update':
        return this.update(dir, earlier('rebuild'));
      case 'add-packages':
        return this.addPackages(dir, earlier('rebuild'));
    }
  }

  /** Runs debootstrap with the first mirror that works; resolves with that mirror's URL. */
  private async bootstrap(dir: string): Promise<string> {
    await mkdir(this.debCache, { recursive: true });
    const failures: string[] = [];
    for (const mirrors of this.mirrorCandidates) {
      this.log(`debootstrap --variant=minbase ${SUITE} ${dir} ${mirrors.main}`);
      try {
        await run('debootstrap', ['--variant=minbase', `--cache-dir=${this.debCache}`, SUITE, dir, mirrors.main]);
        await finalize(dir, mirrors);
        return mirrors.main;
      } catch (err) {
        failures.push(`${mirrors.main}: ${err instanceof Error ? err.message : String(err)}`);
        await removeTree(dir);
      }
    }
    throw new DebootstrapFailedError(`debootstrap failed with every mirror:\n${failures.join('\n')}`);
  }

  private async rebuild(dir: string, baseDir: string): Promise<TreeBuildResult> {
    const mirror = await this.bootstrap(dir);
    const installed = await readInstalled(dir);
    const changes = diffInstalled(await readInstalled(baseDir), installed);
    const notes = [`second, independent debootstrap run from ${mirror}`];
    if (isUnchanged(changes)) notes.push(`same ${installed.size} package versions as base`);
    else notes.push(`WARNING: the mirror changed between the base and rebuild runs: ${describe(changes)}`);
    return { notes };
  }

  private async update(dir: string, rebuildDir: string): Promise<TreeBuildResult> {
    await copyTree(rebuildDir, dir);
    const mirrors = await treeMirrors(dir);
    const before = await readInstalled(dir);
    await writeSources(dir, fullSources(mirrors));
    await withChroot(dir, async (chroot) => {
      this.log(`update: apt-get update and upgrade at most ${MAX_UPDATES} packages in ${dir}`);
      await chroot(['apt-get', 'update', '-q']);
      const pending = parseSimulatedUpgrades(await chroot(['apt-get', '-s', 'upgrade']));
      if (pending.length === 0) {
        throw new Error(
          `no pending ${SUITE}-security/-updates upgrades today (right after a point release there are none), so ` +
            `the "update" tree cannot be built; keep an earlier .bench-cache or retry once updates appear`,
        );
      }
      // The first ones by name: a stable choice for a given mirror state.
      const chosen = pending.sort().slice(0, MAX_UPDATES);
      await chroot(['apt-get', 'install', '-y', '-q', '--only-upgrade', '--no-install-recommends', ...chosen]);
    });
    await finalize(dir, mirrors);
    const changes = diffInstalled(before, await readInstalled(dir));
    return { notes: [`rebuild + security/updates upgrades: ${describe(changes)}`] };
  }

  private async addPackages(dir: string, rebuildDir: string): Promise<TreeBuildResult> {
    await copyTree(rebuildDir, dir);
    const mirrors = await treeMirrors(dir);
    const before = await readInstalled(dir);
    // The release suite only: the same day's recipe change, without the next day's updates.
    await writeSources(dir, [`deb ${mirrors.main} ${SUITE} main`]);
    await withChroot(dir, async (chroot) => {
      this.log(`add-packages: apt-get install ${ADDED_PACKAGES.join(' ')} in ${dir}`);
      await chroot(['apt-get', 'update', '-q']);
      await chroot(['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...ADDED_PACKAGES]);
    });
    await finalize(dir, mirrors);
    const changes = diffInstalled(before, await readInstalled(dir));
    return { notes: [`rebuild + apt-get install ${ADDED_PACKAGES.join(' ')}: ${describe(changes)}`] };
  }
}

/** Versions for upgrades (the point of the "update" tree), names only for the longer added lists. */
function describe(changes: PackageChanges): string {
  const names = (entries: readonly string[]): string => entries.map((entry) => entry.split(' ')[0]).join(', ');
  const parts: string[] = [];
  if (changes.changed.length) parts.push(`${changes.changed.length} upgraded (${changes.changed.join(', ')})`);
  if (changes.added.length) parts.push(`${changes.added.length} added (${names(changes.added)})`);
  if (changes.removed.length) parts.push(`${changes.removed.length} removed (${names(changes.removed)})`);
  return parts.length ? parts.join('; ') : 'no package changes';
}

/** `apt-get -s upgrade` prints `Inst NAME [OLD] (NEW ...)` for each package it would upgrade. */
export function parseSimulatedUpgrades(output: string): string[] {
  return [...output.matchAll(/^Inst (\S+) \[[^\]]+\] \(/gm)].map((match) => match[1] ?? '').filter(Boolean);
}

/** The apt sources every finished image ships with. */
function fullSources(mirrors: DebianMirrors): string[] {
  return [
    `deb ${mirrors.main} ${SUITE} main`,
    `deb ${mirrors.main} ${SUITE}-updates main`,
    `deb ${mirrors.security} ${SUITE}-security main`,
  ];
}

async function writeSources(root: string, lines: readonly string[]): Promise<void> {
  await writeFile(join(root, 'etc/apt/sources.list'), lines.join('\n') + '\n');
}

/** The mirrors a finished tree was built from, read back from the sources `finalize` wrote. */
async function treeMirrors(root: string): Promise<DebianMirrors> {
  const text = await readFile(join(root, 'etc/apt/sources.list'), 'utf8');
  const main = new RegExp(`^deb (\\S+) ${SUITE} main$`, 'm').exec(text)?.[1];
  const security = new RegExp(`^deb (\\S+) ${SUITE}-security main$`, 'm').exec(text)?.[1];
  if (!main || !security) throw new Error(`${root}/etc/apt/sources.list was not written by this recipe; rebuild the cache`);
  return { main, security };
}

/** Deletes a directory's entries except `keep`; the directory itself stays (packages own it). */
async function emptyDir(dir: string, keep: readonly string[] = []): Promise<void> {
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const name of entries) if (!keep.includes(name)) await rm(join(dir, name), { recursive: true, force: true });
}

/** The published state: final apt sources, no downloaded package lists or .debs (as `apt-get clean`). */
async function finalize(root: string, mirrors: DebianMirrors): Promise<void> {
  await writeSources(root, fullSources(mirrors));
  await emptyDir(join(root, 'var/lib/apt/lists'), ['partial', 'lock']);
  await emptyDir(join(root, 'var/cache/apt/archives'), ['partial', 'lock']);
  for (const name of ['pkgcache.bin', 'srcpkgcache.bin']) await rm(join(root, 'var/cache/apt', name), { force: true });
}
