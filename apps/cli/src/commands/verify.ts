import { Command } from 'commander';
import { formatBytes } from '../format-bytes.js';
import { InvalidInputError } from '@lxchunk/errors';
import { verifyChunks, type VerifyProgress, type VerifyReport } from '@lxchunk/store';
import type { CommandContext } from '../command-context.js';
import { EXIT } from '../exit-codes.js';
import { countProgress, type Progress } from '../progress.js';
import { withServerOptions, type ServerOptions } from '../server-options.js';
import { namesStorage, openExistingStorage, withStorageOptions, type StorageOptions } from '../storage-options.js';
import { withClient } from '../with-client.js';

interface VerifyOptions extends ServerOptions, StorageOptions {
  repair?: boolean;
  json?: boolean;
}

export function verifyCommand(context: CommandContext): Command {
  return withServerOptions(
    withStorageOptions(new Command('verify'), 'server data directory (the server must be stopped)')
      .description(
        'read every stored chunk and check it against its id; --repair quarantines the corrupt ones so the next push uploads them again. ' +
          'Directly on the storage (--data with the server stopped, or --chunks/--metadata), or inside a running server with --server and an admin token. ' +
          `Exits ${EXIT.integrity} when corruption was found (also after --repair), ${EXIT.io} when chunks could not be read`,
      ),
  )
    .option('--repair', 'move corrupt chunks to the store\'s quarantine (bytes kept); they count as missing from then on')
    .option('--json', 'print {repair, chunks, ok, corrupt, unreadable, quarantined, okBytes, corruptBytes, problems}')
    .action(async (options: VerifyOptions) => {
      const direct = namesStorage(options);
      if (direct && options.server !== undefined) throw new InvalidInputError('give --data/--chunks/--metadata (directly) or --server (online), not both');
      const repair = Boolean(options.repair);
      let bar: Progress | undefined;
      const onProgress = (progress: VerifyProgress) => {
        bar ??= countProgress('verify  ', progress.total, context.stderr);
        bar.update(progress.done);
      };
      let report: VerifyReport;
      try {
        report = direct ? await verifyOffline(options, repair, onProgress, context.signal) : await verifyOnline(options, repair, onProgress, context.signal);
      } finally {
        bar?.stop();
      }
      context.exitCode = report.corrupt > 0 ? EXIT.integrity : report.unreadable > 0 ? EXIT.io : EXIT.ok;
      if (options.json) context.printJson(report);
      else printReport(context, report);
    });
}

async function verifyOffline(options: StorageOptions, repair: boolean, onProgress: (progress: VerifyProgress) => void, signal: AbortSignal): Promise<VerifyReport> {
  // A data dir's lock keeps a server from writing chunks while they are judged and moved.
  const storage = await openExistingStorage(options);
  try {
    return await verifyChunks(storage.store, { repair, onProgress, signal });
  } finally {
    await storage.close();
  }
}

async function verifyOnline(options: ServerOptions, repair: boolean, onProgress: (progress: VerifyProgress) => void, signal: AbortSignal): Promise<VerifyReport> {
  return withClient(options, (client) => client.verify({ repair, onProgress, signal }));
}

function printReport(context: CommandContext, report: VerifyReport): void {
  context.print(
    `verified ${report.chunks} chunk(s): ${report.ok} ok (${formatBytes(report.okBytes)}), ${report.corrupt} corrupt (${formatBytes(report.corruptBytes)} stored), ${report.unreadable} unreadable`,
  );
  for (const problem of report.problems) {
    const state = problem.kind === 'corrupt' ? (problem.quarantined ? 'quarantined' : 'left in place') : problem.code;
    context.print(`${problem.kind.padEnd(11)}${problem.id}  ${state}: ${problem.message}`);
  }
  if (report.problems.length < report.corrupt + report.unreadable) context.print(`(${report.corrupt + report.unreadable - report.problems.length} more not listed)`);
  if (report.quarantined > 0) context.print(`quarantined ${report.quarantined} chunk(s): push the images that use them again to repair them`);
  else if (report.corrupt > 0) context.print('run again with --repair to quarantine them, then push the images that use them again');
}
