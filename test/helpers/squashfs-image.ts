import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** distrobuilder's options; tests add `-no-fragments` for the chunk-friendly profile. */
export const DISTROBUILDER_OPTIONS = ['-noappend', '-b', '1M', '-no-exports', '-no-progress', '-no-recovery', '-comp', 'xz'];

/**
 * Writes a small tree that looks like a root filesystem: many small text-like files (which
 * squashfs packs into fragments) and a few larger binary-like ones, reproducible from `seed`.
 */
export async function writeTree(dir: string, seed: number, files = 200): Promise<void> {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `usr/lib/pkg${i % 17}`);
    await mkdir(sub, { recursive: true });
    const size = i % 25 === 0 ? 300_000 + (next() % 200_000) : 200 + (next() % 8000);
    const bytes = Buffer.alloc(size);
    // Half text-like (compressible), half random (like already-compressed payloads).
    for (let j = 0; j < size; j++) bytes[j] = i % 2 === 0 ? 97 + (next() % 6) : next() & 0xff;
    await writeFile(join(sub, `file${i}.bin`), bytes);
  }
}

export async function mksquashfs(tree: string, out: string, extra: readonly string[] = []): Promise<void> {
  await run('mksquashfs', [tree, out, ...DISTROBUILDER_OPTIONS, ...extra, '-all-time', '1700000000', '-mkfs-time', '1700000000']);
}
