import { run } from './exec.js';

export interface SquashfsProfile {
  readonly name: 'stock' | 'no-fragments';
  readonly description: string;
  /** Added to distrobuilder's options. */
  readonly extraArgs: readonly string[];
}

/** Exactly what distrobuilder runs for a container rootfs (FACTS.md). */
export const DISTROBUILDER_ARGS: readonly string[] = [
  '-noappend',
  '-b',
  '1M',
  '-no-exports',
  '-no-progress',
  '-no-recovery',
  '-comp',
  'xz',
];

export const SQUASHFS_PROFILES: readonly SquashfsProfile[] = [
  { name: 'stock', description: "distrobuilder's mksquashfs options (small files packed into shared fragments)", extraArgs: [] },
  {
    name: 'no-fragments',
    description: 'the chunk-friendly profile: stock + -no-fragments (every file starts its own blocks)',
    // Without fragments a file's compressed blocks depend only on that file, so they survive
    // changes elsewhere in the tree byte for byte, where chunking can find them.
    extraArgs: ['-no-fragments'],
  },
];

export async function buildSquashfs(tree: string, out: string, profile: SquashfsProfile): Promise<void> {
  await run('mksquashfs', [tree, out, ...DISTROBUILDER_ARGS, ...profile.extraArgs]);
}
