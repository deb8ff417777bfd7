import { readFile } from 'node:fs/promises';

/** Linux's USER_HZ: the unit of the times in /proc/<pid>/stat (100 on every mainstream build). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, seconds) used so far by a process and its direct children (nginx's
 * workers), from /proc. Differences between two readings say how much CPU a phase cost the server,
 * which other load on the machine disturbs far less than throughput. Undefined where /proc is missing.
 */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  const own = await cpuTicks(pid);
  if (own === undefined) return undefined;
  let total = own;
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  for (const child of children.split(/\s+/).filter(Boolean)) total += (await cpuTicks(Number(child))) ?? 0;
  return total / CLOCK_TICKS_PER_SECOND;
}

async function cpuTicks(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, so 12 and 13 after the name.
  return Number(fields[11]) + Number(fields[12]);
}
