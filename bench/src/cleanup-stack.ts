/**
 * Teardown steps of a benchmark (stop a server, remove a directory), run in reverse order of
 * registration exactly once: at the end, on failure, or on SIGINT/SIGTERM.
 */
export class CleanupStack {
  private readonly steps: Array<{ label: string; run: () => Promise<void> }> = [];
  private running: Promise<void> | undefined;

  /**
   * Registers `step`; returns a function that runs it now (once) and unregisters it, for
   * resources released before the end (a server stopped between two phases).
   */
  add(label: string, step: () => Promise<void> | void): () => Promise<void> {
    let done: Promise<void> | undefined;
    const entry = {
      label,
      run: () => (done ??= Promise.resolve().then(step)),
    };
    this.steps.push(entry);
    return async () => {
      const index = this.steps.indexOf(entry);
      if (index >= 0) this.steps.splice(index, 1);
      await entry.run();
    };
  }

  /** Runs every remaining step, newest first; a failing step is reported and the rest still run. */
  runAll(): Promise<void> {
    this.running ??= (async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.run();
        } catch (err) {
          process.stderr.write(`cleanup: ${step.label} failed: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
    })();
    return this.running;
  }

  /**
   * On SIGINT or SIGTERM: run the cleanup, then exit with 128 + signal number. Returns a function
   * that removes the handlers.
   */
  onSignals(): () => void {
    const handler = (signal: NodeJS.Signals) => {
      process.stderr.write(`\n${signal}: cleaning up\n`);
      void this.runAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  }
}

/**
 * Runs a bench's `main` with a cleanup stack that also runs on SIGINT/SIGTERM, and reports a
 * failure as the stack trace and exit status 1.
 */
export function runBench(main: (cleanup: CleanupStack) => Promise<void>): void {
  const cleanup = new CleanupStack();
  const removeSignalHandlers = cleanup.onSignals();
  main(cleanup)
    .finally(async () => {
      await cleanup.runAll();
      removeSignalHandlers();
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exitCode = 1;
    });
}
