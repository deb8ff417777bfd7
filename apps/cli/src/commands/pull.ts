import { join } from 'node:path';
import { Command, Option } from 'commander';
import { formatBytes } from '../format-bytes.js';
import { checkUserPath } from '@lxchunk/errors';
import { FsChunkStore } from '@lxchunk/store';
import { ManifestCache, REBUILD_PREFERENCES, pullImage, type RebuildPreference } from '@lxchunk/sync';
import type { CommandContext } from '../command-context.js';
import { duration, parsedOption, repeatable } from '../options.js';
import { phaseProgress } from '../progress.js';
import { clientFrom, withServerOptions, type ServerOptions } from '../server-options.js';

interface PullOptions extends ServerOptions {
  out: string;
  seed: string[];
  cache?: string;
  json?: boolean;
  prefer: RebuildPreference;
  deltas: boolean;
}

export function pullCommand(context: CommandContext): Command {
  return withServerOptions(
    new Command('pull')
      .description('pull an image by alias or fingerprint, fetching only chunks no local seed or cache has; writes <fp> and <fp>.rootfs')
      .argument('<ref>', 'an alias or an image fingerprint'),
  )
    .requiredOption('--out <dir>', 'directory for the image files')
    .option('--seed <file>', 'a local file that may share chunks, e.g. the previous rootfs (repeatable)', repeatable, [])
    .option('--cache <dir>', 'chunk and manifest cache kept across pulls (searched first, filled with what is fetched)')
    .addOption(
      new Option('--prefer <what>', 'xz squashfs blocks: rebuild from content to fetch fewer bytes, fetch them compressed to spend no CPU, or decide per block from the measured link and re-encoding rates')
        .choices(REBUILD_PREFERENCES)
        .default('auto'),
    )
    .option('--no-deltas', 'do not offer the server the local chunks missing ones replaced (no chunks as deltas)')
    .addOption(parsedOption('--retry-for <duration>', 'keep retrying a server that went away (e.g. restarting) this long, 0 for no retries', duration).default(60_000, '60s'))
    .option('--json', 'print {fingerprint, bytesTotal, bytesFetched, bytesReused, chunksFetched, chunksAsDeltas, blocksRebuilt, rebuildCpuSeconds, files, ...}')
    .action(async (ref: string, options: PullOptions) => {
      for (const seed of options.seed) await checkUserPath('--seed', seed, 'file');
      await checkUserPath('--out', options.out, 'dir-or-absent');
      if (options.cache) await checkUserPath('--cache', options.cache, 'dir-or-absent');
      const client = await clientFrom(options);
      const progress = phaseProgress(context.stderr);
      try {
        const cache = options.cache ? await FsChunkStore.open({ dir: options.cache, fsync: false }) : undefined;
        // Beside the chunks: manifests pulled before, the base the server compresses the next one against.
        const manifests = options.cache ? new ManifestCache(join(options.cache, 'manifests')) : undefined;
        const { manifest: _manifest, ...result } = await pullImage({
          client,
          ref,
          outDir: options.out,
          seeds: options.seed.map((path) => ({ path })),
          ...(cache ? { cache } : {}),
          ...(manifests ? { manifests } : {}),
          prefer: options.prefer,
          deltas: options.deltas,
          onProgress: progress.listener,
          onWarning: (message) => context.stderr.write(`warning: ${message}\n`),
          signal: context.signal,
        });
        progress.stop();
        if (options.json) {
          context.printJson(result);
          return;
        }
        context.print(`pulled ${result.fingerprint} (${result.type}) into ${options.out}`);
        for (const file of result.files) context.print(`  ${file.role.padEnd(10)} ${file.path} (${formatBytes(file.size)})`);
        // Fetched bytes include the manifest and its indexes, so they can exceed the image's size: no "saved" ratio.
        const reused = result.bytesReused > 0 ? `${formatBytes(result.bytesReused)} reused from local copies` : 'nothing reused';
        context.print(
          `fetched ${formatBytes(result.bytesFetched)} for a ${formatBytes(result.bytesTotal)} image (${reused}); ${result.chunksReused} of ${result.chunksTotal} chunks were local`,
        );
        if (result.chunksAsDeltas > 0) context.print(`${result.chunksAsDeltas} fetched chunks came as deltas against local chunks they replaced`);
        if (result.blocksRebuilt > 0) {
          context.print(`rebuilt ${result.blocksRebuilt} xz blocks (${formatBytes(result.bytesRebuilt)}) from ${result.contentChunksFetched} fetched content chunks and local ones, in ${result.rebuildCpuSeconds.toFixed(1)} CPU-s`);
        }
        if (result.rebuildFallbacks > 0) context.print(`warning: ${result.rebuildFallbacks} rebuilt chunks did not match their ids and were fetched compressed instead`);
        if (result.corruptLocalChunks > 0) context.print(`warning: ${result.corruptLocalChunks} local chunk copies were corrupt and fetched instead`);
      } finally {
        progress.stop();
        await client.close();
      }
    });
}
