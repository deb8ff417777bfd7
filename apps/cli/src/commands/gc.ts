import { Command } from 'commander';
import type { GcReport } from '@lxchunk/client';
import { InvalidInputError, checkUserPath } from '@lxchunk/errors';
import { collectGarbage, openDataDir } from '@lxchunk/server';
import type { CommandContext } from '../command-context.js';
import { formatBytes } from '../format-bytes.js';
import { parsedOption, wholeNumber } from '../options.js';
import { withServerOptions, type ServerOptions } from '../server-options.js';
import { withClient } from '../with-client.js';

interface GcOptions extends ServerOptions {
  data?: string;
  dryRun?: boolean;
  retention?: number;
  json?: boolean;
}

export function gcCommand(context: CommandContext): Command {
  return withServerOptions(
    new Command('gc')
      .description(
        'apply alias retention, then delete chunks no image references: offline with --data (the server must be stopped), ' +
          'or inside a running server with --server and an admin token (it uses its own --retention)',
      )
      .option('--data <dir>', 'server data directory (offline)'),
  )
    .option('--dry-run', 'report what would be deleted, delete nothing')
    .addOption(parsedOption('--retention <n>', 'offline: images kept per alias (default 3)', wholeNumber))
    .option('--json', 'print {imagesDeleted, chunksDeleted, bytesFreed, chunksKept, leased, leasesEndBy, dryRun}')
    .action(async (options: GcOptions) => {
      if (options.data !== undefined && options.server !== undefined) throw new InvalidInputError('give --data (offline) or --server (online), not both');
      if (options.data === undefined && options.retention !== undefined) throw new InvalidInputError('--retention applies offline (--data); a server uses its own --retention');
      const report = options.data !== undefined ? await gcOffline(options.data, options) : await gcOnline(options, context.signal);
      if (options.json) {
        context.printJson(report);
        return;
      }
      const verb = report.dryRun ? 'would delete' : 'deleted';
      context.print(`${verb} ${report.imagesDeleted.length} image(s) past retention, ${report.chunksDeleted} chunk(s), ${formatBytes(report.bytesFreed)} freed`);
      context.print(`kept ${report.chunksKept} chunk(s) referenced by images`);
      // Leases outlive the pushes that took them: say what they are, not that uploads are running.
      if (report.leased > 0) {
        const end = report.leasesEndBy ? `, leases end by ${report.leasesEndBy}` : '';
        context.print(`leased: ${report.leased} chunk(s) announced or uploaded by pushes not yet committed${end}`);
      }
    });
}

async function gcOffline(dir: string, options: GcOptions): Promise<GcReport> {
  // Only `serve` creates a data dir: here a typo must not yield an empty one to collect.
  await checkUserPath('--data', dir, 'dir');
  // Holding the data dir lock guarantees no server commits a manifest meanwhile.
  const dataDir = await openDataDir(dir, { fsync: true });
  try {
    return await collectGarbage({ db: dataDir.db, store: dataDir.store, retentionKeep: Math.max(1, options.retention ?? 3), dryRun: Boolean(options.dryRun) });
  } finally {
    await dataDir.close();
  }
}

async function gcOnline(options: GcOptions, signal: AbortSignal): Promise<GcReport> {
  return withClient(options, (client) => client.gc({ dryRun: Boolean(options.dryRun), signal }));
}
