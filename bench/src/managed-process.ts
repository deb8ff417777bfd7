import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** How much of a child's stderr is kept for error messages. */
const TAIL_CHARS = 4000;

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedProcessOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A long-running child (a server, nginx, wrk) that the benchmark must be able to stop at any
 * moment: stdout is collected (or read line by line), stderr is kept as a tail for errors.
 */
export class ManagedProcess {
  readonly exited: Promise<ProcessExit>;
  private stderrTail = '';
  private stdoutText = '';
  private readonly stderrListeners = new Set<(text: string) => void>();

  private constructor(
    readonly label: string,
    readonly child: ChildProcess,
  ) {
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.stdoutText += text;
    });
    child.stderr!.setEncoding('utf8').on('data', (text: string) => {
      this.stderrTail = (this.stderrTail + text).slice(-TAIL_CHARS);
      for (const listener of this.stderrListeners) listener(text);
    });
    this.exited = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    this.exited.catch(() => undefined);
  }

  static spawn(label: string, command: string, args: readonly string[], options: ManagedProcessOptions = {}): ManagedProcess {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ManagedProcess(label, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  get stderr(): string {
    return this.stderrTail;
  }

  /** Calls `listener` with each piece of stderr from now on (the whole of it, not only the tail); returns the unsubscribe. */
  onStderr(listener: (text: string) => void): () => void {
    this.stderrListeners.add(listener);
    return () => this.stderrListeners.delete(listener);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first complete stdout line; rejects if the process exits first or `timeoutMs` passes. */
  async firstLine(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const newline = this.stdoutText.indexOf('\n');
      if (newline >= 0) return this.stdoutText.slice(0, newline);
      if (!this.running) throw this.failure('exited before printing a line');
      if (Date.now() > deadline) throw this.failure(`printed no line within ${timeoutMs} ms`);
      // The wait for data is cancelled when the delay wins, or every turn would leave a listener behind.
      const waiting = new AbortController();
      await Promise.race([once(this.child.stdout!, 'data', { signal: waiting.signal }).catch(() => undefined), this.exited, delay(50)]);
      waiting.abort();
    }
  }

  /** Waits for the exit and rejects unless the status is 0. */
  async success(): Promise<void> {
    const exit = await this.exited;
    if (exit.code !== 0) throw this.failure(exit.signal ? `was killed by ${exit.signal}` : `exited with ${exit.code}`);
  }

  /** Sends `signal`, waits up to `graceMs` for the exit, then SIGKILL. Resolves once it is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<ProcessExit> {
    if (this.running) {
      this.child.kill(signal);
      const timer = setTimeout(() => {
        if (this.running) this.child.kill('SIGKILL');
      }, graceMs);
      try {
        return await this.exited;
      } finally {
        clearTimeout(timer);
      }
    }
    return this.exited;
  }

  failure(what: string): Error {
    const tail = this.stderrTail.trim();
    return new Error(`${this.label} (pid ${this.pid ?? '?'}) ${what}${tail ? `:\n${tail}` : ''}`);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
