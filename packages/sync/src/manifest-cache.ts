import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isChunkId } from '@lxchunk/chunker';
import { decodeManifest } from '@lxchunk/format';
import { writeFileAtomic } from '@lxchunk/store';

export interface CachedManifest {
  readonly fingerprint: string;
  /** Exactly as the server sent them: the server compresses new manifests against these bytes. */
  readonly bytes: Uint8Array;
}

/**
 * Manifests a host has pulled, kept as files `<fingerprint>.json`. Their only use is as the base
 * a server compresses the next manifest against, so a damaged or foreign file is dropped, never
 * trusted: it must decode and carry its own fingerprint.
 */
export class ManifestCache {
  constructor(readonly dir: string) {}

  async get(fingerprint: string): Promise<CachedManifest | undefined> {
    if (!isChunkId(fingerprint)) return undefined;
    const path = this.pathOf(fingerprint);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      if (decodeManifest(bytes).fingerprint === fingerprint) return { fingerprint, bytes };
    } catch {
      // fall through: unusable
    }
    await rm(path, { force: true });
    return undefined;
  }

  /** The most recently stored manifest that still checks out: most likely the closest to the next image. */
  async newest(): Promise<CachedManifest | undefined> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((name) => /^[0-9a-f]{64}\.json$/.test(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const dated = await Promise.all(names.map(async (name) => ({ name, mtime: (await stat(join(this.dir, name)).catch(() => undefined))?.mtimeMs ?? -1 })));
    for (const { name } of dated.sort((a, b) => b.mtime - a.mtime)) {
      const found = await this.get(name.slice(0, 64));
      if (found) return found;
    }
    return undefined;
  }

  /** Atomic: a crash leaves the old file or the new one, never half of one. */
  async put(fingerprint: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.pathOf(fingerprint), bytes);
  }

  private pathOf(fingerprint: string): string {
    return join(this.dir, `${fingerprint}.json`);
  }
}
