import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { http } from './http.js';
import { storedChunkPaths } from './stored-chunks.js';

/** What a server holds, as far as a client can rely on it: chunk files, temp files, images, aliases. */
export interface ServerSnapshot {
  /** Chunk file name → sha256 of its bytes. */
  readonly chunks: Record<string, string>;
  /** Files in the store's tmp/: a writer that died or leaked leaves one. */
  readonly tmp: string[];
  /** Image summaries (sorted by fingerprint), each with the sha256 of its stored manifest bytes. */
  readonly images: unknown[];
  readonly aliases: unknown[];
}

/**
 * Reads everything a request could have changed, with an admin token so private images count too.
 * Leases are left out: renewing them is what a rejected-but-authorized `missing` call may do.
 */
export async function snapshotServer(url: string, dataDir: string, adminToken: string): Promise<ServerSnapshot> {
  const chunks: Record<string, string> = {};
  const paths = [...(await storedChunkPaths(dataDir)).values()].sort();
  for (const path of paths) chunks[path.slice(dataDir.length)] = createHash('sha256').update(await readFile(path)).digest('hex');
  const tmp = (await readdir(join(dataDir, 'tmp')).catch(() => [] as string[])).sort();
  const list = await http(url, 'GET', '/v1/images', { token: adminToken });
  if (list.status !== 200) throw new Error(`GET /v1/images: ${list.status} ${list.body.toString()}`);
  const images: unknown[] = [];
  for (const summary of (list.json.images as Array<{ fingerprint: string }>).sort((a, b) => a.fingerprint.localeCompare(b.fingerprint))) {
    const manifest = await http(url, 'GET', `/v1/images/${summary.fingerprint}`, { token: adminToken });
    images.push({ ...summary, manifestSha256: createHash('sha256').update(manifest.body).digest('hex') });
  }
  const aliases = await http(url, 'GET', '/v1/aliases', { token: adminToken });
  if (aliases.status !== 200) throw new Error(`GET /v1/aliases: ${aliases.status} ${aliases.body.toString()}`);
  return { chunks, tmp, images, aliases: aliases.json.aliases };
}
