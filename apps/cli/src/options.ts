import { Option } from 'commander';
import { InvalidInputError } from '@lxchunk/errors';

/** commander argument parsers shared by commands; each throws INVALID_INPUT with the reason. */
export function wholeNumber(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new InvalidInputError(`expected a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `PORT`. */
export function listenAddress(value: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*))?:?(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new InvalidInputError(`--listen takes HOST:PORT, got ${JSON.stringify(value)}`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

/** A duration: a whole number with ms, s, m, h or d (`500ms`, `90s`, `15m`, `6h`, `7d`); plain is seconds. In milliseconds. */
export function duration(value: string): number {
  const match = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(value);
  if (!match) throw new InvalidInputError(`expected a duration, a whole number with ms, s, m, h or d (plain: seconds), got ${JSON.stringify(value)}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/**
 * A size in bytes: plain (`65536`, `65536B`) or with a binary unit, `K`/`KiB`, `M`/`MiB`,
 * `G`/`GiB` (all powers of 1024, as chunk sizes are). `KB` and `MB` are refused: they mean 1000
 * to some and 1024 to others.
 */
export function size(value: string): number {
  const match = /^(\d{1,15})(?:([KkMG])(?:i|iB)?|B)?$/.exec(value);
  const bytes = match ? Number(match[1]) * 1024 ** (match[2] ? 'KMG'.indexOf(match[2].toUpperCase()) + 1 : 0) : NaN;
  if (!Number.isSafeInteger(bytes)) throw new InvalidInputError(`expected a size: bytes, or a whole number with K, KiB, M, MiB, G or GiB (powers of 1024), got ${JSON.stringify(value)}`);
  return bytes;
}

/** An option whose value goes through `parse`; a refusal names the option (`--avg: expected a size…`). */
export function parsedOption<T>(flags: string, description: string, parse: (value: string) => T): Option {
  const option = new Option(flags, description);
  return option.argParser((value: string) => {
    try {
      return parse(value);
    } catch (err) {
      if (err instanceof InvalidInputError) throw new InvalidInputError(`${option.long ?? option.flags}: ${err.message}`, { cause: err });
      throw err;
    }
  });
}

/** For options given several times (`--seed a --seed b`): collects them in order. */
export function repeatable(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--chunking`: how to cut a file (see ChunkMethod); absent means the default for the file. */
export function chunkingOption(): Option {
  return new Option('--chunking <method>', 'how to cut the file: squashfs (on its block boundaries) or cdc (plain content-defined); default squashfs for a squashfs, else cdc').choices([
    'squashfs',
    'cdc',
  ]);
}
