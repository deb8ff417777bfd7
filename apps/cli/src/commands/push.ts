import { Command } from 'commander';
import { formatBytes } from '../format-bytes.js';
import type { ChunkMethod } from '@lxchunk/chunker';
import { checkUserPath } from '@lxchunk/errors';
import { pushImage } from '@lxchunk/sync';
import type { CommandContext } from '../command-context.js';
import { chunkingOption, repeatable } from '../options.js';
import { phaseProgress } from '../progress.js';
import { clientFrom, withServerOptions, type ServerOptions } from '../server-options.js';

interface PushOptions extends ServerOptions {
  alias: string[];
  public?: boolean;
  json?: boolean;
  chunking?: ChunkMethod;
  content: boolean;
}

export function pushCommand(context: CommandContext): Command {
  return withServerOptions(
    new Command('push')
      .description(
        'push an LXD image, split (metadata tarball + rootfs) or unified (one tarball): upload only the chunks the server lacks, then move aliases',
      )
      .argument('<metadata>', 'metadata tarball (tar, .tar.xz, .tar.gz or .tar.zst, with metadata.yaml), or a unified image tarball')
      .argument('[rootfs]', 'rootfs of a split image: squashfs for a container, qcow2/raw disk for a virtual machine'),
  )
    .option('--alias <name>', 'alias to point at the image (repeatable); moved by compare-and-swap', repeatable, [])
    .option('--public', 'anyone may read the image (default: private, read tokens only)')
    .addOption(chunkingOption())
    .option('--no-content', 'send an xz squashfs as compressed bytes only, not also by content (hosts then cannot rebuild its blocks)')
    .option('--json', 'print {fingerprint, bytesTotal, bytesUploaded, chunksTotal, chunksUploaded, warnings, ...}')
    .action(async (metadata: string, rootfs: string | undefined, options: PushOptions) => {
      await checkUserPath('<metadata>', metadata, 'file');
      if (rootfs !== undefined) await checkUserPath('<rootfs>', rootfs, 'file');
      const client = await clientFrom(options);
      const progress = phaseProgress(context.stderr);
      try {
        const result = await pushImage({
          client,
          metadataPath: metadata,
          ...(rootfs !== undefined ? { rootfsPath: rootfs } : {}),
          aliases: options.alias,
          public: Boolean(options.public),
          ...(options.chunking ? { rootfsMethod: options.chunking } : {}),
          content: options.content,
          onProgress: progress.listener,
          signal: context.signal,
        });
        progress.stop();
        // On stderr, also with --json: a build log shows it while scripts still parse stdout.
        for (const warning of result.warnings) context.stderr.write(`warning: ${warning}\n`);
        if (options.json) {
          context.printJson(result);
          return;
        }
        context.print(`pushed ${result.fingerprint} (${result.type}, ${result.manifestStatus === 'created' ? 'new' : 'already known'})`);
        context.print(
          `uploaded ${formatBytes(result.bytesUploaded)} for a ${formatBytes(result.bytesTotal)} image: ${result.chunksUploaded} of ${result.chunksTotal} chunks were new`,
        );
        if (result.content) {
          const c = result.content;
          context.print(
            `by content: ${c.blocksRebuilt} of ${c.blocksRebuilt + c.blocksKept} xz blocks rebuild exactly (${formatBytes(c.contentBytes)} of content; ${c.blocksReused} recipes reused from the alias's image, the rest checked in ${c.cpuSeconds.toFixed(1)} CPU-s)`,
          );
        }
        for (const alias of result.aliases) {
          context.print(`alias ${alias.name} -> ${result.fingerprint.slice(0, 12)} (version ${alias.version}${alias.changed ? '' : ', unchanged'})`);
        }
      } finally {
        progress.stop();
        await client.close();
      }
    });
}
