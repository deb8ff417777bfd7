import { Command } from 'commander';
import { formatBytes } from '../format-bytes.js';
import type { ChunkMethod } from '@lxchunk/chunker';
import { checkUserPath } from '@lxchunk/errors';
import { estimateTransfer } from '@lxchunk/sync';
import type { CommandContext } from '../command-context.js';
import { chunkingOption, repeatable } from '../options.js';
import { phaseProgress } from '../progress.js';

export function estimateCommand(context: CommandContext): Command {
  return new Command('estimate')
    .description('offline: what pulling NEW would fetch for a host that has the --seed files, in pull bytesFetched units')
    .argument('<new>', 'the file a host would pull, e.g. the new rootfs')
    .requiredOption('--seed <file>', 'a file the host already has, e.g. the previous rootfs (repeatable)', repeatable, [])
    .addOption(chunkingOption())
    .option('--no-deltas', 'count every missing chunk whole, not as a delta against the seed chunk it replaced')
    .option('--json', 'print {bytesTotal, bytesFetched, bytesReused, chunksTotal, chunksFetched, chunksAsDeltas, method, ...}')
    .action(async (target: string, options: { seed: string[]; json?: boolean; chunking?: ChunkMethod; deltas: boolean }) => {
      await checkUserPath('<new>', target, 'file');
      for (const seed of options.seed) await checkUserPath('--seed', seed, 'file');
      const progress = phaseProgress(context.stderr);
      try {
        const result = await estimateTransfer({ target, seeds: options.seed, method: options.chunking, deltas: options.deltas, onProgress: progress.listener, signal: context.signal });
        progress.stop();
        if (options.json) {
          context.printJson(result);
          return;
        }
        const share = result.bytesTotal > 0 ? ((100 * result.bytesFetched) / result.bytesTotal).toFixed(1) : '0';
        context.print(`a pull would fetch ${formatBytes(result.bytesFetched)} for a ${formatBytes(result.bytesTotal)} image (${share}% of its size)`);
        context.print(`${result.chunksFetched} of ${result.chunksTotal} chunks are new (${result.chunksAsDeltas} sent as deltas); index and manifest ${formatBytes(result.indexBytes)}`);
      } finally {
        progress.stop();
      }
    });
}
