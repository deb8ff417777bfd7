/**
 * A private, real LXD daemon for tests (exported as `@lxchunk/lxd/test-daemon`): `lxd --group
 * root` with its own LXD_DIR in a fresh temporary directory. Needs root and the `lxd` binary
 * (Debian's `lxd` package); without them it THROWS, so a CI job missing LXD fails loudly
 * instead of skipping.
 *
 * `stop()` shuts the daemon down (`lxd shutdown`), kills it if it lingers, unmounts whatever LXD
 * mounted under its directory (shmounts, devlxd, storage) and removes the directory. A process
 * exit hook does the same synchronously for daemons a test forgot to stop.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, rmSync } from 'node:fs';
import { access, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface LxdTestDaemon {
  /** The daemon's LXD_DIR (a temporary directory, removed by stop()). */
  readonly lxdDir: string;
  /** `${lxdDir}/unix.socket`. */
  readonly socketPath: string;
  /** The daemon's stdout and stderr. */
  readonly logPath: string;
  /** The `lxd` process. */
  readonly pid: number;
  /** Environment for running `lxc`/`lxd` against this daemon: process.env plus LXD_DIR. */
  readonly env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

const live = new Set<{ dir: string; child: ChildProcess }>();
let exitHookInstalled = false;

export async function startLxdDaemon(): Promise<LxdTestDaemon> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error('startLxdDaemon: a private LXD daemon needs root (run the LXD tests as root, e.g. in the CI container)');
  }
  const lxd = await findExecutable('lxd');
  if (!lxd) {
    throw new Error(`startLxdDaemon: the \`lxd\` binary is not installed (searched PATH ${process.env.PATH ?? ''}); install it with \`apt-get install lxd\``);
  }

  // A unix socket path must fit in 108 bytes: keep the directory short.
  const base = join(tmpdir(), 'x').length > 60 ? '/tmp' : tmpdir();
  const lxdDir = await mkdtemp(join(base, 'lxchunk-lxd-'));
  const socketPath = join(lxdDir, 'unix.socket');
  const logPath = join(lxdDir, 'lxd.log');
  const env: NodeJS.ProcessEnv = { ...process.env, LXD_DIR: lxdDir };

  const log = await open(logPath, 'a');
  let child: ChildProcess;
  try {
    // Its own process group, so that stop() can kill the daemon and anything it forked.
    child = spawn(lxd, ['--group', 'root'], { env, stdio: ['ignore', log.fd, log.fd], detached: true });
  } finally {
    await log.close();
  }
  const entry = { dir: lxdDir, child };
  live.add(entry);
  installExitHook();
  // A forgotten stop() must not keep the test process alive; the exit hook cleans up.
  child.unref();

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve();
    });
    child.once('error', () => resolve());
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        if (!exited) {
          await run(lxd, ['shutdown', '--timeout', '30'], env, 45_000).catch(() => undefined);
          await within(exitPromise, 10_000);
        }
        if (!exited) {
          killGroup(child, 'SIGKILL');
          await within(exitPromise, 5_000);
        }
      } finally {
        unmountUnder(lxdDir);
        await rm(lxdDir, { recursive: true, force: true, maxRetries: 3 });
        live.delete(entry);
      }
    })();
    return stopping;
  };

  try {
    const ready = run(lxd, ['waitready', '--timeout', '60'], env, 70_000);
    const died = exitPromise.then(() => {
      throw new Error(`lxd exited during startup (${exited?.signal ?? `code ${exited?.code}`})`);
    });
    await Promise.race([ready, died]);
  } catch (err) {
    const tail = await readFile(logPath, 'utf8').then(
      (text) => text.split('\n').slice(-30).join('\n'),
      () => '',
    );
    await stop();
    throw new Error(`startLxdDaemon: LXD did not become ready in ${lxdDir}: ${err instanceof Error ? err.message : String(err)}\n--- lxd.log (tail) ---\n${tail}`, { cause: err });
  }

  return { lxdDir, socketPath, logPath, pid: child.pid!, env, stop };
}

/** Mount points at or below `dir` (findmnt's raw output escapes blanks as \x20), deepest first. */
export function mountsUnder(dir: string): string[] {
  let out: string;
  try {
    out = execFileSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out
    .split('\n')
    .map((line) => line.replace(/\\x([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))))
    .filter((target) => target === dir || target.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

function unmountUnder(dir: string): void {
  for (let round = 0; round < 3; round++) {
    const targets = mountsUnder(dir);
    if (targets.length === 0) return;
    for (const target of targets) {
      try {
        execFileSync('umount', ['-l', target], { stdio: 'ignore' });
      } catch {
        // Already gone with its parent, or busy: the next round looks again.
      }
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const { dir, child } of live) {
      killGroup(child, 'SIGKILL');
      unmountUnder(dir);
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort at exit
      }
    }
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

async function findExecutable(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/snap/bin'].filter(Boolean);
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      await access(path, fsConstants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  return undefined;
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}${stderr ? `\n${stderr.trim()}` : ''}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

/** Waits for `promise`, at most `ms` (the timer is cleared, so it never holds the process). */
async function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
