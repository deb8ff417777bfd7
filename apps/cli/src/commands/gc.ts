import { Command, Option } from 'commander';
import prettyBytes from 'pretty-bytes';
import { collectGarbage, openDataDir } from '@lxchunk/server';
import type { CommandContext } from '../command-context.js';
import { wholeNumber } from '../options.js';

export function gcCommand(context: CommandContext): Command {
  return new Command('gc')
    .description('apply alias retention, then delete chunks no image references (offline: the server must be stopped)')
    .requiredOption('--data <dir>', 'server data directory')
    .option('--dry-run', 'report what would be deleted, delete nothing')
    .addOption(new Option('--retention <n>', 'images kept per alias').default(3).argParser(wholeNumber))
    .option('--json', 'print the report as JSON')
    .action(async (options: { data: string; dryRun?: boolean; retention: number; json?: boolean }) => {
      // Holding the data dir lock guarantees no server commits a manifest meanwhile.
      const dataDir = await openDataDir(options.data, { fsync: true });
      try {
        const report = await collectGarbage({ db: dataDir.db, store: dataDir.store, retentionKeep: Math.max(1, options.retention), dryRun: Boolean(options.dryRun) });
        if (options.json) {
          context.printJson(report);
          return;
        }
        const verb = report.dryRun ? 'would delete' : 'deleted';
        context.print(`${verb} ${report.imagesDeleted.length} image(s) past retention, ${report.chunksDeleted} chunk(s), ${prettyBytes(report.bytesFreed)} freed`);
        context.print(`kept ${report.chunksKept} referenced chunk(s)`);
        // Leases outlive the pushes that took them: say what they are, not that uploads are running.
        if (report.leased > 0) {
          const end = report.leasesEndBy ? `, leases end by ${report.leasesEndBy}` : '';
          context.print(`leased: ${report.leased} chunk(s) announced or uploaded by pushes not yet committed${end}`);
        }
      } finally {
        await dataDir.close();
      }
    });
}
