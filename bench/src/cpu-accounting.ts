import { readFile } from 'node:fs/promises';

/** Linux's USER_HZ: the unit of the times in /proc/stat and /proc/<pid>/stat. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU seconds the whole machine has been busy (user, nice, system, irq, softirq, steal; not idle or
 * iowait), summed over all CPUs, from /proc/stat. Undefined where /proc is missing.
 */
export async function machineBusyCpuSeconds(): Promise<number | undefined> {
  const stat = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  const fields = stat?.split('\n', 1)[0]?.trim().split(/\s+/).slice(1).map(Number);
  if (!fields || fields.length < 8) return undefined;
  const [user, nice, system, , , irq, softirq, steal] = fields as [number, number, number, number, number, number, number, number];
  return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU seconds used by this process plus every child it has waited for (and, through them, their
 * waited-for descendants), from /proc/self/stat: a timed command's CPU is in here once it exited.
 */
export async function selfAndReapedChildrenCpuSeconds(): Promise<number | undefined> {
  const stat = await readFile('/proc/self/stat', 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // Fields after the command name: utime, stime, cutime, cstime are fields 14-17 of the line.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU seconds (user + system) of every child this process (or process `pid`) has waited for, from
 * /proc/<pid>/stat (cutime + cstime): all threads of each child (worker threads included) and its
 * own waited-for children. The difference across one awaited command is that command's CPU, when
 * nothing else was reaped meanwhile. Undefined where /proc is missing or the process is gone.
 */
export async function reapedChildrenCpuSeconds(pid: number | 'self' = 'self'): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
}
