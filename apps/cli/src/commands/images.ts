import { Command } from 'commander';
import type { ImageSummary } from '@lxchunk/client';
import { ImageNotFoundError, InvalidInputError } from '@lxchunk/errors';
import { resolveImageRef } from '@lxchunk/sync';
import type { CommandContext } from '../command-context.js';
import { formatBytes } from '../format-bytes.js';
import { repeatable } from '../options.js';
import { withServerOptions, type ServerOptions } from '../server-options.js';
import { withClient } from '../with-client.js';

interface ListOptions extends ServerOptions {
  alias?: string;
  architecture?: string;
  property: string[];
  json?: boolean;
}

/** The server's images as the caller may see them (GET /v1/images). */
export function imagesCommand(context: CommandContext): Command {
  const command = new Command('images').description('list the images on a server, or show one');

  withServerOptions(command.command('list').description('list the images the caller may read'))
    .option('--alias <name>', 'only the image this alias points at')
    .option('--architecture <arch>', 'only images for this architecture, e.g. x86_64')
    .option('--property <key=value>', 'only images with this property, e.g. release=bookworm (repeatable)', repeatable, [])
    .option('--json', 'print {images: [{fingerprint, type, architecture, created, public, properties, size, aliases}]}')
    .action(async (options: ListOptions) => {
      const properties = Object.fromEntries(options.property.map(keyValue));
      const filter = {
        ...(options.alias !== undefined ? { alias: options.alias } : {}),
        ...(options.architecture !== undefined ? { architecture: options.architecture } : {}),
        properties,
      };
      const images = await withClient(options, (client) => client.listImages(filter, { signal: context.signal }));
      if (options.json) {
        context.printJson({ images });
        return;
      }
      for (const image of images) {
        const aliases = image.aliases.length ? image.aliases.join(',') : '-';
        context.print(
          `${image.fingerprint.slice(0, 12)}  ${image.type.padEnd(15)} ${image.architecture.padEnd(8)} ${formatBytes(image.size).padStart(10)}  ${image.public ? 'public ' : 'private'}  ${image.created}  ${aliases}`,
        );
      }
    });

  withServerOptions(command.command('show').description('show one image: its summary and properties').argument('<ref>', 'an alias, a fingerprint or a unique prefix of one'))
    .option('--json', 'print the image summary')
    .action(async (ref: string, options: ServerOptions & { json?: boolean }) => {
      const image = await withClient(options, async (client) => {
        const fingerprint = await resolveImageRef(client, ref, context.signal);
        const found = (await client.listImages({}, { signal: context.signal })).find((i) => i.fingerprint === fingerprint);
        if (!found) throw new ImageNotFoundError(fingerprint);
        return found;
      });
      if (options.json) context.printJson(image);
      else context.print(describe(image));
    });

  return command;
}

function describe(image: ImageSummary): string {
  const lines: Array<[string, string]> = [
    ['fingerprint', image.fingerprint],
    ['type', image.type],
    ['architecture', image.architecture],
    ['created', image.created],
    ['size', `${formatBytes(image.size)} (${image.size} bytes)`],
    ['public', image.public ? 'yes' : 'no'],
    ['aliases', image.aliases.join(', ') || '-'],
    ...Object.entries(image.properties).map(([key, value]): [string, string] => [`  ${key}`, value]),
  ];
  return lines.map(([key, value]) => `${key.padEnd(14)}${value}`).join('\n');
}

function keyValue(value: string): [string, string] {
  const at = value.indexOf('=');
  if (at < 1) throw new InvalidInputError(`--property takes KEY=VALUE, got ${JSON.stringify(value)}`);
  return [value.slice(0, at), value.slice(at + 1)];
}
