import { readFile, rm } from 'node:fs/promises';
import { measureCommand, type Measurement } from './measure.js';

/**
 * `sh -c` body: stdout goes to the file named by $1, then the shell replaces itself with the
 * command, so /usr/bin/time waits on (and measures) the command itself, exactly as for a command
 * run by measureCommand directly.
 */
const REDIRECT = 'out=$1; shift; exec "$@" >"$out"';

export interface JsonMeasurement<T> extends Measurement {
  /** The command's stdout, parsed as JSON (one object, as `--json` prints). */
  readonly output: T;
}

/**
 * measureCommand for a command whose `--json` stdout the caller needs (measureCommand discards
 * stdout): same wall-time and peak-RSS measurement, stdout captured through `stdoutFile`. `env`
 * is added to the child's environment (for secrets that must not go on argv); calls must not
 * overlap, as the variables are set on this process for the duration of the call.
 */
export async function measureJsonCommand<T>(
  command: string,
  args: readonly string[],
  options: { stdoutFile: string; env?: Readonly<Record<string, string>> },
): Promise<JsonMeasurement<T>> {
  const env = options.env ?? {};
  const saved = new Map(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    const measurement = await measureCommand('/bin/sh', ['-c', REDIRECT, 'sh', options.stdoutFile, command, ...args]);
    const stdout = await readFile(options.stdoutFile, 'utf8');
    let output: T;
    try {
      output = JSON.parse(stdout) as T;
    } catch {
      throw new Error(`${command} ${args.join(' ')} printed no JSON: ${stdout.slice(0, 500)}`);
    }
    return { ...measurement, output };
  } finally {
    for (const [key, value] of saved) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    await rm(options.stdoutFile, { force: true });
  }
}
