import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { defaultParamsFor, validateParams, type ChunkMethod, type ChunkParams } from '@lxchunk/chunker';
import { checkUserPath } from '@lxchunk/errors';
import { chunkOffsets, indexStats } from '@lxchunk/format';
import { chunkImageFile, chooseChunkMethod } from '@lxchunk/sync';
import { formatBytes } from '../format-bytes.js';
import { chunkingOption, parsedOption, size } from '../options.js';
import { byteProgress } from '../progress.js';
import type { CommandContext } from '../command-context.js';

interface InspectOptions {
  json?: boolean;
  min?: number;
  avg?: number;
  max?: number;
  chunking?: ChunkMethod;
}

export function inspectCommand(context: CommandContext): Command {
  return new Command('inspect')
    .description("chunk a file and print its size, sha256, chunk parameters and chunk statistics")
    .argument('<file>', 'the file to chunk (an image rootfs, a metadata tarball, anything)')
    .option('--json', 'print one JSON object {size, sha256, params, method, chunks: [{offset, length, id}]}')
    .addOption(chunkingOption())
    .addOption(parsedOption('--min <size>', 'minimum chunk size: bytes, or with K/KiB, M/MiB', size))
    .addOption(parsedOption('--avg <size>', 'average chunk size, e.g. 64K', size))
    .addOption(parsedOption('--max <size>', 'maximum chunk size, e.g. 256K', size))
    .action(async (file: string, options: InspectOptions) => {
      await checkUserPath('<file>', file, 'file');
      const method = options.chunking ?? (await chooseChunkMethod(file));
      const defaults = defaultParamsFor(method);
      const params = validateParams({
        min: options.min ?? defaults.min,
        avg: options.avg ?? defaults.avg,
        max: options.max ?? defaults.max,
      });
      const info = await stat(file);
      const progress = byteProgress('chunking', info.size, context.stderr);
      let scanned;
      try {
        scanned = await chunkImageFile(file, { method, params, onProgress: (done) => progress.update(done), signal: context.signal });
      } finally {
        progress.stop();
      }
      const offsets = chunkOffsets(scanned);
      if (options.json) {
        context.printJson({
          size: scanned.size,
          sha256: scanned.sha256,
          params: scanned.params,
          method: scanned.method,
          chunks: scanned.chunks.map((chunk, i) => ({ offset: offsets[i], length: chunk.length, id: chunk.id })),
        });
        return;
      }
      const stats = indexStats(scanned);
      const lines = [
        ['file', file],
        ['size', `${formatBytes(scanned.size)} (${scanned.size} bytes)`],
        ['sha256', scanned.sha256],
        ['params', describeParams(scanned.params)],
        ['method', scanned.method === 'squashfs' ? 'squashfs (cut on its block boundaries)' : 'cdc'],
        ['chunks', `${stats.count} (${stats.uniqueChunks} distinct)`],
        ['lengths', `min ${stats.minLength}, avg ${Math.round(stats.avgLength)}, max ${stats.maxLength} bytes`],
        ['distinct', `${formatBytes(stats.uniqueBytes)} (${percent(stats.uniqueBytes, scanned.size)} of the file)`],
      ];
      context.print(lines.map(([key, value]) => `${key!.padEnd(9)}${value}`).join('\n'));
    });
}

function describeParams({ min, avg, max }: ChunkParams): string {
  return `min ${formatBytes(min)}, avg ${formatBytes(avg)}, max ${formatBytes(max)}`;
}

function percent(part: number, whole: number): string {
  return whole === 0 ? '100%' : `${((100 * part) / whole).toFixed(1)}%`;
}
