import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { removeTree } from './fs-tree.js';

/** Every cached artifact's record carries the key of the inputs and recipe it was built from. */
export interface CacheRecord {
  readonly key: string;
}

export interface CachedResult<R extends CacheRecord> {
  readonly record: R;
  /** False when the artifact came from the cache. */
  readonly built: boolean;
}

async function readRecord<R extends CacheRecord>(path: string): Promise<R | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as R;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Builds `target` (a file or a directory) unless the cache already holds it for the same `key`.
 * The build works on `<target>.partial` and the record `<target>.json` is written last, so an
 * interrupted build is never mistaken for a finished one and is simply redone.
 */
export async function cachedBuild<R extends CacheRecord>(
  target: string,
  key: string,
  build: (partialPath: string) => Promise<Omit<R, 'key'>>,
): Promise<CachedResult<R>> {
  const recordPath = `${target}.json`;
  const cached = await readRecord<R>(recordPath);
  if (cached?.key === key && (await exists(target))) return { record: cached, built: false };

  const partial = `${target}.partial`;
  await mkdir(dirname(target), { recursive: true });
  await removeTree(recordPath);
  await removeTree(target);
  await removeTree(partial);
  const record = { ...(await build(partial)), key } as R;
  await rename(partial, target);
  await writeFile(`${recordPath}.partial`, JSON.stringify(record, null, 2) + '\n');
  await rename(`${recordPath}.partial`, recordPath);
  return { record, built: true };
}
