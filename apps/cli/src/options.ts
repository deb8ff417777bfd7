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

/** A duration like `90s`, `15m`, `6h`, `7d` or plain seconds, in milliseconds. */
export function duration(value: string): number {
  const match = /^(\d{1,9})(s|m|h|d)?$/.exec(value);
  if (!match) throw new InvalidInputError(`expected a duration like 30s, 15m, 6h or 7d, got ${JSON.stringify(value)}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit * 1000;
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
