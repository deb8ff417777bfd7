import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PRIVATE_DIR, PRIVATE_FILE_MODE } from './private-mode.js';

/**
 * Writes `path` whole or not at all (a temp file renamed over it: a crash leaves the old file or
 * the new one), private (0600), creating its directory (0700) if needed.
 */
export async function writePrivateFile(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), PRIVATE_DIR);
  const temp = `${path}.${process.pid}.tmp`;
  // A mode applies only on creation: a temp file left by a crash must not lend the file its own.
  await rm(temp, { force: true });
  await writeFile(temp, data, { mode: PRIVATE_FILE_MODE });
  await rename(temp, path);
}
