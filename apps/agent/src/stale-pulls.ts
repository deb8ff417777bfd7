import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

const STAGING_PREFIX = '.lxchunk-pull-';

/**
 * Removes what interrupted pulls left in `dir` (up to a whole image each) once untouched for
 * `maxAgeMs`: an image whose pull failed and that the alias has since moved past is never
 * resumed. `keep` (the pull about to run) stays whatever its age. Returns the names removed.
 */
export async function removeStalePulls(dir: string, keep: string, maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [])) {
    if (!name.startsWith(STAGING_PREFIX) || name === `${STAGING_PREFIX}${keep}`) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info || now - info.mtimeMs < maxAgeMs) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
