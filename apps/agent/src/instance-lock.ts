import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sleep } from '@lxchunk/client';
import { AgentLockedError } from '@lxchunk/errors';
import { ExclusiveFileLock, PRIVATE_DIR, writePrivateFile } from '@lxchunk/store';

/** How the holder runs: a daemon keeps the lock for its whole life, `--once` for one pass. */
export type AgentMode = 'daemon' | 'once';

export interface LockHolder {
  readonly pid: number;
  readonly mode: AgentMode;
  readonly since: string;
}

export interface InstanceLock {
  release(): Promise<void>;
}

export interface LockOptions {
  /** Wait while another `--once` holds the lock; a daemon holder is refused all the same. */
  readonly wait: boolean;
  /** Called once, when the lock is found held and this instance starts waiting. */
  readonly onWait?: (holder: LockHolder | undefined) => void;
  readonly signal?: AbortSignal;
}

const RETRY_MS = 200;

/**
 * Makes this process the only agent on `cacheDir`: two agents importing the same image into the
 * same LXD race (one fails "Image with same fingerprint already exists"). The lock is an
 * ExclusiveFileLock on `agent.lock`: the kernel drops it when the process dies however it dies,
 * so there is no stale lock to time out or clean up. `agent.holder.json` says who holds it, for
 * the error message; it is only trusted while the lock is held. Throws AgentLockedError when
 * refused.
 */
export async function lockCacheDir(cacheDir: string, mode: AgentMode, options: LockOptions): Promise<InstanceLock> {
  await mkdir(cacheDir, PRIVATE_DIR);
  const lockPath = join(cacheDir, 'agent.lock');
  let lock: ExclusiveFileLock | undefined;
  let waiting = false;
  while (!(lock = ExclusiveFileLock.tryAcquire(lockPath))) {
    const holder = await readHolder(cacheDir);
    // A daemon never lets go by itself: waiting for it would hang a timer or cron job.
    if (!options.wait || holder?.mode === 'daemon') throw new AgentLockedError(cacheDir, holder);
    if (!waiting) options.onWait?.(holder);
    waiting = true;
    await sleep(RETRY_MS, options.signal);
  }
  const held = lock;
  try {
    await writeHolder(cacheDir, { pid: process.pid, mode, since: new Date().toISOString() });
  } catch (err) {
    held.release();
    throw err;
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await rm(holderPath(cacheDir), { force: true });
      held.release();
    },
  };
}

function holderPath(cacheDir: string): string {
  return join(cacheDir, 'agent.holder.json');
}

async function writeHolder(cacheDir: string, holder: LockHolder): Promise<void> {
  await writePrivateFile(holderPath(cacheDir), `${JSON.stringify(holder)}\n`);
}

async function readHolder(cacheDir: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(holderPath(cacheDir), 'utf8')) as Partial<LockHolder>;
    return typeof holder.pid === 'number' && (holder.mode === 'daemon' || holder.mode === 'once') ? (holder as LockHolder) : undefined;
  } catch {
    // Not written yet by a holder that just got the lock, or left by a dead one: unknown holder.
    return undefined;
  }
}
