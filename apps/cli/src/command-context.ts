/** What a command may touch of the outside world: passed in, so tests can run commands in-process. */
export interface CommandContext {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
  readonly signal: AbortSignal;
  print(text: string): void;
  printJson(value: unknown): void;
  /** A command that printed its own report of a partial failure sets the process exit code here. */
  exitCode: number;
}

export function processContext(signal: AbortSignal): CommandContext {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    signal,
    print: (text) => process.stdout.write(`${text}\n`),
    printJson: (value) => process.stdout.write(`${JSON.stringify(value)}\n`),
    exitCode: 0,
  };
}
