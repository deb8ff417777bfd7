import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { delimiter, join } from 'node:path';

/** How much of a failed command's output an error keeps: enough for apt's or mksquashfs's reason. */
const TAIL_CHARS = 4000;
/** Callers parse stdout (apt-get -s); anything past this is a runaway, not an answer. */
const MAX_STDOUT_BYTES = 64 * 1024 * 1024;

export class CommandError extends Error {
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | null,
    readonly outputTail: string,
    options?: { cause?: unknown },
  ) {
    const status = exitCode === null ? 'was killed' : `exited ${exitCode}`;
    super(`\`${command.join(' ')}\` ${status}${outputTail ? `:\n${outputTail}` : ''}`, options);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Runs a command to completion and resolves with its stdout. stderr is kept only as a tail, so a
 * failure can say why without a chatty tool (debootstrap, apt) filling memory.
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const argv = [command, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderrTail = '';
    child.stdout.on('data', (data: Buffer) => {
      stdoutBytes += data.length;
      if (stdoutBytes <= MAX_STDOUT_BYTES) stdout.push(data);
    });
    child.stderr.on('data', (data: Buffer) => {
      stderrTail = (stderrTail + data.toString('utf8')).slice(-TAIL_CHARS);
    });
    child.on('error', (err) => reject(new CommandError(argv, null, err.message, { cause: err })));
    child.on('close', (code) => {
      const out = Buffer.concat(stdout).toString('utf8');
      if (code === 0) resolve(out);
      else reject(new CommandError(argv, code, (out.slice(-TAIL_CHARS) + '\n' + stderrTail).trim().slice(-TAIL_CHARS)));
    });
  });
}

/** Whether `name` resolves to an executable on PATH (plus the sbin directories root tools live in). */
export async function commandExists(name: string): Promise<boolean> {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}
