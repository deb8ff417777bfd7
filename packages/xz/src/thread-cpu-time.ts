import { readFileSync } from 'node:fs';

/** Linux's USER_HZ: the unit of utime and stime in /proc/.../stat (100 on every Linux ABI Node supports). */
const TICKS_PER_SECOND = 100;

/**
 * Milliseconds of CPU (user + system) the calling OS thread has used, or undefined where Linux's
 * /proc/thread-self is not available. Node 20 has no per-thread CPU clock (process.cpuUsage counts
 * every thread), and a job's wall time counts the time other processes held its core.
 */
export function threadCpuMs(): number | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/thread-self/stat', 'latin1');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return ((utime + stime) * 1000) / TICKS_PER_SECOND;
}
