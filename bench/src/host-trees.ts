import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';
import { copyTree } from './fs-tree.js';
import type { TreeBuildResult, TreeRecipe, TreeVersion } from './test-trees.js';

/** Real binaries of this machine: what an image mostly consists of (no /etc: it may hold secrets). */
const BASE_DIRS = ['/usr/bin', '/usr/sbin'];
/** Stand-ins for "four more packages": the first four of these the host has. */
const ADDED_DIR_CANDIDATES = [
  '/usr/share/perl5',
  '/usr/lib/apt',
  '/usr/share/terminfo',
  '/usr/share/zoneinfo',
  '/usr/lib/git-core',
  '/usr/share/i18n',
  '/usr/share/vim',
  '/usr/lib/python3',
];
const UPDATED_FILES = 6;

/**
 * The fallback when debootstrap cannot run: trees made of this machine's /usr with SYNTHETIC
 * changes. The numbers it yields are only indicative (a real package update rewrites far more of
 * a binary than the patches here do); the benchmark says so loudly when it uses this.
 */
export class HostTreeRecipe implements TreeRecipe {
  readonly source = 'host-usr-fallback' as const;
  readonly revision = 1;

  async build(version: TreeVersion, dir: string, earlier: (name: TreeVersion) => string): Promise<TreeBuildResult> {
    switch (version) {
      case 'base':
        await mkdir(join(dir, 'usr'), { recursive: true });
        for (const from of BASE_DIRS) await run('cp', ['-a', '--', from, join(dir, 'usr')]);
        await writeGeneratedFiles(dir);
        return { notes: [`copy of this host's ${BASE_DIRS.join(', ')}`] };
      case 'rebuild':
        await copyTree(earlier('base'), dir);
        await touchAll(dir, new Date());
        await writeGeneratedFiles(dir);
        return { notes: ['copy of base with every mtime set to now and a new machine-id and build log'] };
      case 'update': {
        await copyTree(earlier('rebuild'), dir);
        const patched = await patchSomeBinaries(dir);
        return { notes: [`rebuild with ${patched.length} binaries patched in place (synthetic): ${patched.join(', ')}`] };
      }
      case 'add-packages': {
        await copyTree(earlier('rebuild'), dir);
        const added: string[] = [];
        for (const from of ADDED_DIR_CANDIDATES) {
          if (added.length === 4) break;
          if (!(await stat(from).catch(() => undefined))?.isDirectory()) continue;
          const to = join(dir, from);
          if (await stat(to).catch(() => undefined)) continue;
          await mkdir(join(to, '..'), { recursive: true });
          await run('cp', ['-a', '--', from, to]);
          added.push(from);
        }
        return { notes: [`rebuild plus copies of this host's ${added.join(', ')}`] };
      }
    }
  }
}

/** Files every real build regenerates. */
async function writeGeneratedFiles(root: string): Promise<void> {
  await mkdir(join(root, 'etc'), { recursive: true });
  await mkdir(join(root, 'var/log'), { recursive: true });
  await writeFile(join(root, 'etc/machine-id'), randomBytes(16).toString('hex') + '\n');
  await writeFile(join(root, 'var/log/build.log'), `built ${new Date().toISOString()}\n`);
}

async function touchAll(dir: string, when: Date): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) await touchAll(path, when);
    await utimes(path, when, when);
  }
}

/**
 * Six mid-sized binaries of usr/bin, chosen evenly by name, each rewritten with a small insertion
 * (which shifts everything after it, as relinking does) and a few scattered byte changes.
 */
async function patchSomeBinaries(root: string): Promise<string[]> {
  const bin = join(root, 'usr/bin');
  const candidates: string[] = [];
  for (const name of (await readdir(bin)).sort()) {
    const info = await lstat(join(bin, name));
    if (info.isFile() && info.size >= 64 * 1024 && info.size <= 8 * 1024 * 1024) candidates.push(name);
  }
  const step = Math.max(1, Math.floor(candidates.length / UPDATED_FILES));
  const chosen = candidates.filter((_, i) => i % step === 0).slice(0, UPDATED_FILES);
  for (const name of chosen) {
    const path = join(bin, name);
    const bytes = await readFile(path);
    const third = Math.floor(bytes.length / 3);
    const patched = Buffer.concat([bytes.subarray(0, third), randomBytes(2048), bytes.subarray(third)]);
    for (let at = 4096; at < patched.length; at += 32 * 1024) randomBytes(8).copy(patched, at);
    await writeFile(path, patched);
  }
  return chosen;
}
