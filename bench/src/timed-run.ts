import { reapedChildrenCpuSeconds } from './cpu-accounting.js';
import { run, type RunOptions } from './exec.js';

export interface TimedRun {
  readonly stdout: string;
  /** From spawn to exit, as the caller waited for it. */
  readonly wallSeconds: number;
  /** User + system CPU of the command (all its threads and waited-for children); NaN without /proc. */
  readonly cpuSeconds: number;
}

/**
 * Runs a command to completion (exec.ts's run) and measures its wall time and CPU time. Commands
 * timed this way must run one at a time: the CPU is what this process reaped meanwhile.
 */
export async function runTimed(command: string, args: readonly string[], options: RunOptions = {}): Promise<TimedRun> {
  const cpu0 = await reapedChildrenCpuSeconds();
  const t0 = performance.now();
  const stdout = await run(command, args, options);
  const wallSeconds = (performance.now() - t0) / 1000;
  const cpu1 = await reapedChildrenCpuSeconds();
  return { stdout, wallSeconds, cpuSeconds: cpu0 === undefined || cpu1 === undefined ? Number.NaN : cpu1 - cpu0 };
}
