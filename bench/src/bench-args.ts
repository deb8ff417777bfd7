import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KiB } from './units.js';

/**
 * The command-line arguments of a bench script. `pnpm bench:x -- --json` passes the `--` on, and
 * parseArgs would take everything after it as positionals; drop it.
 */
export function benchArgs(argv: readonly string[] = process.argv.slice(2)): string[] {
  return argv[0] === '--' ? argv.slice(1) : [...argv];
}

/** A size argument: bytes, or with a binary suffix (128M, 1G, 64KiB). */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a size: ${JSON.stringify(text)} (use bytes or 128M, 1G)`);
  const scale = { '': 1, k: KiB, m: KiB ** 2, g: KiB ** 3, t: KiB ** 4 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const bytes = Math.round(Number(match[1]) * scale);
  if (!Number.isSafeInteger(bytes) || bytes < 1) throw new Error(`size out of range: ${text}`);
  return bytes;
}

export function positive(text: string, what: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${what} must be a positive number, got ${JSON.stringify(text)}`);
  return value;
}

/**
 * parseArgs over benchArgs() for a bench whose options all take a value (`names`), plus the two
 * every bench has: `--help` prints `usage` and exits, `--json` asks for JSON on stdout.
 */
export function parseBenchArgs<Name extends string>(names: readonly Name[], usage: string): Partial<Record<Name, string>> & { json: boolean } {
  const options: NonNullable<ParseArgsConfig['options']> = {
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  };
  for (const name of names) options[name] = { type: 'string' };
  const { values } = parseArgs({ args: benchArgs(), options });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  return values as Partial<Record<Name, string>> & { json: boolean };
}
