/**
 * Fault injection for the crash tests, off unless the environment asks for it:
 * `LXCHUNK_CRASH_AT=NAME` (or `NAME:N`) makes the process kill itself with SIGKILL the first (or
 * Nth) time it passes `crashPoint(NAME)`, as a power cut or the OOM killer would: no cleanup, no
 * finally blocks, files left as they are. Tests name the exact step they want to interrupt.
 */
const wanted = parseCrashAt(process.env.LXCHUNK_CRASH_AT);
let passes = 0;

export function crashPoint(name: string): void {
  if (wanted?.name !== name) return;
  if (++passes === wanted.count) process.kill(process.pid, 'SIGKILL');
}

function parseCrashAt(value: string | undefined): { name: string; count: number } | undefined {
  if (!value) return undefined;
  const match = /^([a-z][a-z0-9.-]*)(?::([1-9]\d*))?$/.exec(value);
  if (!match) throw new Error(`LXCHUNK_CRASH_AT must be NAME or NAME:N, got ${JSON.stringify(value)}`);
  return { name: match[1]!, count: match[2] ? Number(match[2]) : 1 };
}
