import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@lxchunk/store';

export interface AliasStatus {
  readonly fingerprint?: string;
  readonly action?: string;
  readonly lastSync?: string;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: string };
  readonly bytesFetched?: number;
  readonly bytesReused?: number;
}

export interface AgentStatus {
  readonly server: string;
  readonly pid: number;
  readonly updated: string;
  readonly aliases: Readonly<Record<string, AliasStatus>>;
}

export function statusPath(cacheDir: string): string {
  return join(cacheDir, 'status.json');
}

/** Written after every sync (temp + rename), read by `chunk agent status`. */
export async function writeStatus(cacheDir: string, status: AgentStatus): Promise<void> {
  await writeFileAtomic(statusPath(cacheDir), `${JSON.stringify(status, null, 2)}\n`);
}

export async function readStatus(cacheDir: string): Promise<AgentStatus | undefined> {
  try {
    return JSON.parse(await readFile(statusPath(cacheDir), 'utf8')) as AgentStatus;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
