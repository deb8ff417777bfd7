import { readdirSync, readFileSync } from 'node:fs';

/**
 * Every live descendant of `pid` (children before grandchildren), from /proc. Empty where /proc is
 * missing. Zombies (exited, not yet reaped) are left out: there is nothing left to stop.
 */
export function descendantPids(pid: number = process.pid): number[] {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${parent}/task`);
    } catch {
      continue;
    }
    for (const task of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${parent}/task/${task}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of children.split(/\s+/).filter(Boolean).map(Number)) {
        if (!found.includes(child) && alive(child)) {
          found.push(child);
          queue.push(child);
        }
      }
    }
  }
  return found;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Stops every descendant of this process (a timed command and the tool it runs, a server): SIGTERM
 * deepest first, so a wrapper such as /usr/bin/time cannot outlive what it wraps; SIGKILL for any
 * left after `graceMs`. Resolves once none is alive. For a signal handler, before removing the
 * directories those processes write into.
 */
export async function terminateDescendants(graceMs = 10_000): Promise<void> {
  const signalAll = (signal: NodeJS.Signals) => {
    for (const pid of descendantPids().reverse()) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };
  signalAll('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (descendantPids().length > 0) {
    if (Date.now() > deadline) {
      signalAll('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (descendantPids().length === 0) return;
      if (Date.now() > deadline + 5_000) return;
    } else {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
