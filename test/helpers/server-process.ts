import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chunkBin, runChunk } from './run-chunk.js';

export interface ServerProcess {
  readonly url: string;
  /** What `chunk serve --json` printed as tlsFingerprint (HTTPS only). */
  readonly tlsFingerprint: string | undefined;
  readonly dataDir: string;
  readonly child: ChildProcess;
  /** Everything the server logged to stderr so far (JSON lines). */
  readonly stderr: () => string;
  /** Resolves once the server's stderr matches `pattern` (its log is ordered: earlier lines are in by then). */
  waitForStderr(pattern: RegExp): Promise<void>;
  /** Creates a token with the server's own CLI (on the same data dir, or its --metadata) and returns it. */
  token(scopes: string, name?: string): Promise<string>;
  /** SIGTERM, then waits for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Stops the server and removes its data dir. */
  destroy(): Promise<void>;
}

let tokenCounter = 0;

/**
 * Starts a real `chunk serve` process on a free loopback port, as an operator would, and waits
 * until it says where it listens.
 */
export async function startServer(extraArgs: readonly string[] = [], dataDir?: string, options: { env?: NodeJS.ProcessEnv } = {}): Promise<ServerProcess> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'lxchunk-server-')));
  const child = spawn(chunkBin, ['serve', '--data', dir, '--listen', '127.0.0.1:0', '--json', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const { url, tlsFingerprint } = await new Promise<{ url: string; tlsFingerprint: string | undefined }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      let url: unknown;
      let tlsFingerprint: unknown;
      try {
        ({ url, tlsFingerprint } = JSON.parse(line) as { url?: unknown; tlsFingerprint?: unknown });
      } catch (err) {
        child.kill('SIGKILL');
        reject(new Error(`unexpected first line from chunk serve: ${line}\n${stderr}`, { cause: err }));
        return;
      }
      // An error is printed as JSON too, e.g. {"error": {"code": "DATA_DIR_LOCKED", ...}}.
      if (typeof url === 'string') resolve({ url, tlsFingerprint: typeof tlsFingerprint === 'string' ? tlsFingerprint : undefined });
      else {
        child.kill('SIGKILL');
        reject(new Error(`chunk serve did not start: ${line}\n${stderr}`));
      }
    });
    void exited.then((code) => reject(new Error(`chunk serve exited with ${code} before listening:\n${stderr}`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return {
    url,
    tlsFingerprint,
    dataDir: dir,
    child,
    stderr: () => stderr,
    waitForStderr: (pattern) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(stderr)) return false;
          child.stderr!.off('data', check);
          resolve();
          return true;
        };
        const ended = () => reject(new Error(`chunk serve closed its stderr without logging ${pattern}:\n${stderr}`));
        if (check()) return;
        if (child.stderr!.readableEnded) return ended();
        child.stderr!.on('data', check).once('end', ended);
      }),
    async token(scopes, name = `test-${++tokenCounter}`) {
      const metadata = extraArgs.indexOf('--metadata');
      const where = metadata >= 0 ? ['--metadata', extraArgs[metadata + 1]!] : ['--data', dir];
      const result = await runChunk(['token', 'create', ...where, '--name', name, '--scope', scopes, '--json'], { env: options.env ?? {} });
      if (result.code !== 0) throw new Error(`token create failed: ${result.stderr}`);
      return (JSON.parse(result.stdout) as { token: string }).token;
    },
    stop,
    async destroy() {
      await stop();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}
