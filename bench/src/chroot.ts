import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './exec.js';
import { withProc } from './mounts.js';

/** Runs one command inside the chroot and resolves with its stdout. */
export type ChrootRunner = (args: readonly string[]) => Promise<string>;

/**
 * Debian's convention for "do not start services from maintainer scripts": a build chroot must
 * not start daemons on the host. Removed afterwards so it does not end up in the image.
 */
const POLICY_RC_D = 'usr/sbin/policy-rc.d';

const CHROOT_ENV: NodeJS.ProcessEnv = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  DEBIAN_FRONTEND: 'noninteractive',
  LC_ALL: 'C',
  HOME: '/root',
};

/** Gives `fn` a way to run commands in the root tree `root`, with /proc mounted, then cleans up. */
export async function withChroot<T>(root: string, fn: (run: ChrootRunner) => Promise<T>): Promise<T> {
  const policy = join(root, POLICY_RC_D);
  await writeFile(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    return await withProc(join(root, 'proc'), () => fn((args) => run('chroot', [root, ...args], { env: CHROOT_ENV })));
  } finally {
    await rm(policy, { force: true });
  }
}
