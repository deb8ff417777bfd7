import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { run } from './exec.js';

/** /proc/self/mounts escapes blanks and backslashes in paths as octal (`\040`). */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** Mount points strictly inside `dir`, deepest first (the order they must be unmounted in). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const root = resolve(dir);
  const prefix = root.endsWith('/') ? root : `${root}/`;
  const table = await readFile('/proc/self/mounts', 'utf8');
  const points = table
    .split('\n')
    .map((line) => line.split(' ')[1])
    .filter((field): field is string => field !== undefined)
    .map(unescapeMountPath)
    .filter((point) => point.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/**
 * Unmounts everything inside `dir`. A build that was interrupted may have left /proc mounted in a
 * chroot; deleting or copying that tree without this would walk into the host's /proc.
 */
export async function unmountUnder(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) await run('umount', ['--lazy', point]);
}

/** Mounts a fresh procfs at `target` for the duration of `fn` (apt and maintainer scripts want /proc). */
export async function withProc<T>(target: string, fn: () => Promise<T>): Promise<T> {
  await run('mount', ['-t', 'proc', 'proc', target]);
  try {
    return await fn();
  } finally {
    await run('umount', ['--lazy', target]);
  }
}
