import { run } from './exec.js';
import { unmountUnder } from './mounts.js';

/** Copies a root filesystem tree with owners, modes, times, links and device nodes (`cp -a`). */
export async function copyTree(from: string, to: string): Promise<void> {
  await unmountUnder(from);
  await run('cp', ['-a', '--', from, to]);
}

/**
 * Deletes a root filesystem tree (a missing one is fine). `--one-file-system` is the second guard
 * after unmounting: a leftover mount inside must stop the deletion, never extend it to the host.
 */
export async function removeTree(path: string): Promise<void> {
  await unmountUnder(path);
  await run('rm', ['-rf', '--one-file-system', '--', path]);
}
