import { Command } from 'commander';
import { formatBytes } from '../format-bytes.js';
import { checkUserPath } from '@lxchunk/errors';
import { collectGarbage, openDataDir } from '@lxchunk/server';
import type { CommandContext } from '../command-context.js';
import { parsedOption, wholeNumber } from '../options.js';

export function gcCommand(context: CommandContext): Command {
  return new Command('gc')
    .description('apply alias retention, then delete chunks no image references (offline: the server must be stopped)')
    .requiredOption('--data <dir>', 'server data directory')
    .option('--dry-run', 'report what would be deleted, delete nothing')
    .addOption(parsedOption('--retention <n>', 'images kept per alias', wholeNumber).default(3))
    .option('--json', 'print the report as JSON')
    .action(async (options: { data: string; dryRun?: boolean; retention: number; json?: boolean }) => {
      // Only `serve` creates a data dir: here a typo must not yield an empty one to collect.
      await checkUserPath('--data', options.data, 'dir');
      // Holding the data dir lock guarantees no server commits a manifest meanwhile.
      const dataDir = await openDataDir(options.data, { fsync: true });
      try {
        const report = await collectGarbage({ db: dataDir.db, store: dataDir.store, retentionKeep: Math.max(1, options.retention), dryRun: Boolean(options.dryRun) });
        if (options.json) {
          context.printJson(report);
          return;
        }
        const verb = report.dryRun ? 'would delete' : 'deleted';
        context.print(`${verb} ${report.imagesDeleted.length} image(s) past retention, ${report.chunksDeleted} chunk(s), ${formatBytes(report.bytesFreed)} freed`);
        // Leased chunks are unreferenced ones uploaded within the lease period: a push may still commit them, or was abandoned.
        context.print(`kept ${report.chunksKept} chunk(s) referenced by images and ${report.leased} unreferenced chunk(s) uploaded within the lease period`);
      } finally {
        await dataDir.close();
      }
    });
}
