import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@lxchunk/store';

/** An import under way: written before LXD is asked, removed once the image is in LXD and marked. */
export interface ImportEntry {
  readonly alias: string;
  readonly fingerprint: string;
  /** The server the image came from (its lxchunk.server mark). */
  readonly server: string;
  /** The pulled files handed to LXD: only the import's vehicle, removed after it. */
  readonly files: readonly string[];
  /** ISO time the import began. */
  readonly startedAt: string;
}

/**
 * The agent's record of imports it started, one JSON file per fingerprint in `dir`: a run killed
 * during an import leaves its entry, and the next run knows which image in LXD is its own (it may
 * lack its marks) and which staged files to remove.
 */
export class ImportJournal {
  constructor(private readonly dir: string) {}

  async begin(entry: Omit<ImportEntry, 'startedAt'>, now = new Date()): Promise<void> {
    await writeFileAtomic(this.pathOf(entry.fingerprint), `${JSON.stringify({ ...entry, startedAt: now.toISOString() })}\n`);
  }

  async end(fingerprint: string): Promise<void> {
    await rm(this.pathOf(fingerprint), { force: true });
  }

  /** Entries left by earlier runs; a damaged one (a kill mid-write never renames it in) is skipped and removed. */
  async entries(): Promise<ImportEntry[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const entries: ImportEntry[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      const entry = name.endsWith('.json') ? await readEntry(path) : undefined;
      if (entry) entries.push(entry);
      else await rm(path, { force: true });
    }
    return entries;
  }

  private pathOf(fingerprint: string): string {
    return join(this.dir, `${fingerprint}.json`);
  }
}

async function readEntry(path: string): Promise<ImportEntry | undefined> {
  try {
    const entry = JSON.parse(await readFile(path, 'utf8')) as Partial<ImportEntry>;
    const valid =
      typeof entry.alias === 'string' &&
      typeof entry.fingerprint === 'string' &&
      /^[0-9a-f]{64}$/.test(entry.fingerprint) &&
      typeof entry.server === 'string' &&
      typeof entry.startedAt === 'string' &&
      !Number.isNaN(Date.parse(entry.startedAt)) &&
      Array.isArray(entry.files) &&
      entry.files.every((file) => typeof file === 'string');
    return valid ? (entry as ImportEntry) : undefined;
  } catch {
    return undefined;
  }
}
