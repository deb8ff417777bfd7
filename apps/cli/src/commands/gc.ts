import { Command } from 'commander';
import type { GcReport } from '@lxchunk/client';
import { InvalidInputError } from '@lxchunk/errors';
import { collectGarbage } from '@lxchunk/server';
import type { CommandContext } from '../command-context.js';
import { formatBytes } from '../format-bytes.js';
import { parsedOption, wholeNumber } from '../options.js';
import { withServerOptions, type ServerOptions } from '../server-options.js';
import { namesStorage, openExistingStorage, withStorageOptions, type StorageOptions } from '../storage-options.js';
import { withClient } from '../with-client.js';

interface GcOptions extends ServerOptions, StorageOptions {
  dryRun?: boolean;
  retention?: number;
  json?: boolean;
}

export function gcCommand(context: CommandContext): Command {
  return withServerOptions(
    withStorageOptions(new Command('gc'), 'server data directory (the server must be stopped)')
      .description(
        'apply alias retention, then delete chunks no image references: directly on the storage (--data with the server stopped; ' +
          '--chunks/--metadata on shared storage, safe beside running servers), or inside a running server with --server and an admin token (it uses its own --retention)',
      ),
  )
    .option('--dry-run', 'report what would be deleted, delete nothing')
    .addOption(parsedOption('--retention <n>', 'offline: images kept per alias (default 3)', wholeNumber))
    .option('--json', 'print {imagesDeleted, chunksDeleted, bytesFreed, chunksKept, leased, leasesEndBy, dryRun}')
    .action(async (options: GcOptions) => {
      const direct = namesStorage(options);
      if (direct && options.server !== undefined) throw new InvalidInputError('give --data/--chunks/--metadata (directly) or --server (online), not both');
      if (!direct && options.retention !== undefined) throw new InvalidInputError('--retention applies directly on storage; a server uses its own --retention');
      const report = direct ? await gcOffline(options) : await gcOnline(options, context.signal);
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

async function gcOffline(options: GcOptions): Promise<GcReport> {
  // A data dir is locked (no server runs on it); shared storage orders GC with running servers.
  const storage = await openExistingStorage(options);
  try {
    return await collectGarbage({ db: storage.db, store: storage.store, retentionKeep: Math.max(1, options.retention ?? 3), dryRun: Boolean(options.dryRun) });
  } finally {
    await storage.close();
  }
}

async function gcOnline(options: GcOptions, signal: AbortSignal): Promise<GcReport> {
  return withClient(options, (client) => client.gc({ dryRun: Boolean(options.dryRun), signal }));
}
