import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Every directory under (and including) `root` not 0700 and every file not 0600, as `path mode` lines. */
export async function notPrivate(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string): Promise<void> => {
    const stats = await lstat(path);
    const mode = stats.mode & 0o777;
    if (stats.isDirectory()) {
      if (mode !== 0o700) found.push(`${path} ${mode.toString(8)}`);
      for (const name of await readdir(path)) await walk(join(path, name));
    } else if (mode !== 0o600) {
      found.push(`${path} ${mode.toString(8)}`);
    }
  };
  await walk(root);
  return found;
}
