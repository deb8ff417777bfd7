import { reapedChildrenCpuSeconds } from './cpu-accounting.js';
import { processCpuSeconds } from './process-cpu.js';

/** CPU seconds (user + system) each named process used during a piece of work; `bench` is this process. */
export type CpuSeconds<Name extends string> = Record<Name | 'bench', number | undefined>;

/**
 * Runs `work` and returns its result with the CPU each process in `pids` (with its direct
 * children: PostgreSQL's backends) and this process used meanwhile. A child that exits meanwhile
 * (an idle pool connection closed) takes its CPU out of the live children, and into its parent's
 * reaped-children times: both are counted, so the difference never goes negative. This process is
 * read with process.cpuUsage, not /proc: its children are the servers measured beside it.
 */
export async function cpuOfProcesses<Name extends string, T>(
  pids: Readonly<Record<Name, number | undefined>>,
  work: () => Promise<T>,
): Promise<{ result: T; cpu: CpuSeconds<Name> }> {
  const names = Object.keys(pids) as Name[];
  const read = () => Promise.all(names.map((name) => (pids[name] === undefined ? undefined : withReapedChildren(pids[name]!))));
  const before = await read();
  const ownBefore = process.cpuUsage();
  const result = await work();
  const own = process.cpuUsage(ownBefore);
  const after = await read();
  const cpu = { bench: (own.user + own.system) / 1e6 } as CpuSeconds<Name>;
  names.forEach((name, i) => {
    const [b, a] = [before[i], after[i]];
    cpu[name] = b === undefined || a === undefined ? undefined : a - b;
  });
  return { result, cpu };
}

async function withReapedChildren(pid: number): Promise<number | undefined> {
  const [live, reaped] = await Promise.all([processCpuSeconds(pid), reapedChildrenCpuSeconds(pid)]);
  return live === undefined || reaped === undefined ? undefined : live + reaped;
}

