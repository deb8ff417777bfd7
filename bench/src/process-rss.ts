import { readFile } from 'node:fs/promises';

/** Resident memory of a process in bytes (VmRSS from /proc), undefined when it is gone or /proc is missing. */
export async function processRssBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  const match = status === undefined ? null : /^VmRSS:\s+(\d+) kB$/m.exec(status);
  return match ? Number(match[1]) * 1024 : undefined;
}
