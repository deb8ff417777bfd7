import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { chunkBin, runChunk, type RunResult } from './run-chunk.js';

const run = promisify(execFile);

export interface AgentResult {
  alias: string;
  fingerprint: string;
  action: string;
  bytesFetched: number;
  bytesReused: number;
  pruned: string[];
  error?: { code: string };
}

export interface LxcImage {
  fingerprint: string;
  aliases: Array<{ name: string }>;
  properties: Record<string, string>;
}

/** `lxc image list` of the daemon at `lxdDir`: what an operator would see. */
export async function lxcImages(lxdDir: string): Promise<LxcImage[]> {
  const { stdout } = await run('lxc', ['image', 'list', '--format', 'json'], { env: { ...process.env, LXD_DIR: lxdDir } });
  return JSON.parse(stdout) as LxcImage[];
}

export async function aliasTarget(lxdDir: string, name: string): Promise<string | undefined> {
  return (await lxcImages(lxdDir)).find((image) => image.aliases.some((a) => a.name === name))?.fingerprint;
}

/** `chunk agent --once --json ARGS`, its per-alias results parsed. */
export async function agentOnce(args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult & { results: AgentResult[] }> {
  const result = await runChunk(['agent', '--once', '--json', ...args], { env });
  return { ...result, results: result.stdout ? (JSON.parse(result.stdout) as { results: AgentResult[] }).results : [] };
}

/**
 * Runs `chunk agent --once ARGS` with the test-only pause at `point`, kills it with SIGKILL as
 * soon as it logs that it paused there, and returns its log. Rejects if it exits without pausing.
 */
export async function agentKilledAt(point: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const agent = spawn(chunkBin, ['agent', '--once', '--json', ...args], {
    env: { ...process.env, ...env, LXCHUNK_TEST_PAUSE_AT: point },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let logs = '';
  const exited = new Promise<void>((resolve) => agent.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    agent.stderr.setEncoding('utf8').on('data', (text: string) => {
      logs += text;
      if (logs.includes(`"msg":"paused for test","point":"${point}"`)) resolve();
    });
    void exited.then(() => reject(new Error(`the agent exited before pausing at ${point}\n${logs}`)));
  });
  agent.kill('SIGKILL');
  await exited;
  return logs;
}

export interface AgentProcess {
  readonly child: ReturnType<typeof spawn>;
  /** Everything it logged on stderr so far. */
  logs(): string;
  /** Resolves once stderr contains `text`; rejects if the process exits first. */
  logged(text: string): Promise<void>;
  /** Resolves with the exit code and stdout once the process has exited. */
  readonly exited: Promise<{ code: number | null; stdout: string }>;
}

/** `chunk ARGS` as a background process whose log lines a test can wait for (no timers). */
export function startAgentProcess(args: readonly string[], env: NodeJS.ProcessEnv): AgentProcess {
  const child = spawn(chunkBin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
    for (const waiter of waiters.filter((w) => stderr.includes(w.text))) waiter.resolve();
  });
  const exited = new Promise<{ code: number | null; stdout: string }>((resolve) => child.once('close', (code) => resolve({ code, stdout })));
  return {
    child,
    logs: () => stderr,
    logged: (text) =>
      new Promise<void>((resolve, reject) => {
        if (stderr.includes(text)) return resolve();
        waiters.push({ text, resolve });
        void exited.then(({ code }) => reject(new Error(`chunk ${args.join(' ')} exited (${code}) before logging ${text}\n${stderr}`)));
      }),
    exited,
  };
}
