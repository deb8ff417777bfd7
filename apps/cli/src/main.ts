#!/usr/bin/env node
import { CommanderError } from 'commander';
import { processContext } from './command-context.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { createProgram } from './program.js';

// The AWS SDK warns on Node 20 that its releases after January 2027 need Node 22. Ours is pinned
// (packages/store/package.json), and a plain-text warning would break the server's JSON log on stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The only place that decides the process's exit code. */
async function main(argv: string[]): Promise<number> {
  const aborter = new AbortController();
  const onSignal = () => aborter.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const wantsJson = argv.includes('--json');
  const context = processContext(aborter.signal);
  try {
    await createProgram(context).parseAsync(argv);
    return context.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage mistakes were already explained by commander.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const failure = describeFailure(err);
    if (wantsJson) process.stdout.write(`${JSON.stringify({ error: { code: failure.code, message: failure.message } })}\n`);
    process.stderr.write(`chunk: error [${failure.code}]: ${failure.message}\n`);
    return failure.exitCode;
  }
}

process.exitCode = await main(process.argv);
