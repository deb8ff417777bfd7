import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from './exec.js';

/** A fixed creation date, so the tarball (and so the image fingerprint) is the same on every run. */
const CREATION_DATE = 1764288000;

/**
 * Writes a minimal LXD metadata tarball (tar.xz holding only metadata.yaml) to `path`, as `chunk
 * push` expects beside a rootfs. Deterministic: same bytes on every run.
 */
export async function writeMetadataTarball(path: string, properties: Record<string, string> = { os: 'bench' }): Promise<void> {
  const dir = await mkdtemp(join(dirname(path), '.metadata-'));
  try {
    const props = Object.entries(properties)
      .map(([key, value]) => `  ${key}: ${JSON.stringify(value)}\n`)
      .join('');
    await writeFile(join(dir, 'metadata.yaml'), `architecture: x86_64\ncreation_date: ${CREATION_DATE}\nproperties:\n${props}`);
    await run('tar', ['-C', dir, `--mtime=@${CREATION_DATE}`, '--owner=0', '--group=0', '--numeric-owner', '-cJf', path, 'metadata.yaml']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
