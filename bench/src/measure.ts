import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface Measurement {
  readonly seconds: number;
  readonly peakRssBytes: number;
}

const TIME = '/usr/bin/time';

/**
 * Runs a command as its own process and measures wall time and peak RSS the same way for our CLI
 * and for its peers (GNU time's %M), so the ratios compare like with like.
 */
export async function measureCommand(command: string, args: readonly string[], options: { cwd?: string } = {}): Promise<Measurement> {
  if (!existsSync(TIME)) throw new Error(`${TIME} is missing: apt-get install time`);
  const started = performance.now();
  const child = spawn(TIME, ['-f', '@@%M', command, ...args], { cwd: options.cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}: ${stderr.slice(-2000)}`);
  const match = /@@(\d+)\s*$/.exec(stderr);
  if (!match) throw new Error(`no peak RSS in the output of ${TIME}: ${stderr.slice(-500)}`);
  return { seconds, peakRssBytes: Number(match[1]) * 1024 };
}

export async function median(runs: number, measure: () => Promise<Measurement>): Promise<Measurement> {
  const results: Measurement[] = [];
  for (let i = 0; i < runs; i++) results.push(await measure());
  results.sort((a, b) => a.seconds - b.seconds);
  const middle = results[Math.floor(results.length / 2)]!;
  return { seconds: middle.seconds, peakRssBytes: Math.max(...results.map((r) => r.peakRssBytes)) };
}

export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = `${dir}/${command}`;
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}
