import { readdir, readFile } from 'node:fs/promises';

/**
 * The first process whose argument vector `matches`, from /proc: for servers a harness started
 * without telling their pid (moto_server, a private PostgreSQL's postmaster). Undefined when none
 * matches or /proc is missing.
 */
export async function findPid(matches: (argv: readonly string[]) => boolean): Promise<number | undefined> {
  const entries = await readdir('/proc').catch(() => [] as string[]);
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline !== '' && matches(cmdline.replace(/\0$/, '').split('\0'))) return Number(entry);
  }
  return undefined;
}
