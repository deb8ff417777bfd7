import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Compression } from './compression.js';
import { zstdDecode } from './zstd-decode.js';

/**
 * xz is read by the system `xz` (xz-utils), streamed through a pipe. @napi-rs/lzma was the plan,
 * but its 1.5.x (the one with a streaming decoder) ships binaries for Node >= 22.20 only, so pnpm
 * skips them on Node 20; 1.4.x only decompresses whole buffers with no bound on the output (a few
 * MB of xz can expand to GBs). `tar -J` needs the same binary, so it is there wherever LXD images
 * are built.
 */
export const XZ_COMMAND = 'xz';

/**
 * Caps the xz decoder's dictionary allocation. `xz -9` (distrobuilder's) needs 65 MiB; a file
 * that announces more is refused instead of making us allocate up to 4 GiB.
 */
export const XZ_MEMLIMIT = '256MiB';

/** Keep this much of a failing decoder's stderr for the error message. */
const STDERR_KEEP = 4096;

/** Where a failure came from: the file itself, or a decoder given corrupt or truncated bytes. */
export type FailureOrigin = 'file' | 'decoder';
export interface StreamFailure {
  readonly origin: FailureOrigin;
  readonly error: Error;
}

export interface DecompressedFile {
  /** The streams to pipe in order; the last one yields the decompressed bytes. */
  readonly pipe: readonly [Readable, ...Readable[]];
  /** Every stream whose errors mean something, with what they mean. */
  readonly watch: readonly { readonly stream: Readable; readonly origin: FailureOrigin }[];
  /**
   * For a decoder in another process: its failure once it has exited (its errors never reach the
   * streams). Undefined when it succeeded or was stopped, and always for in-process decoders.
   */
  readonly exited: Promise<StreamFailure | undefined>;
  /** Ends early on purpose (the reader has what it needs): later failures are not failures. */
  stop(): void;
}

/** Input read size. gzip output is bounded by input (at most ~1032x), so this bounds its bursts. */
const READ_SIZE = 16 * 1024;

/** Opens `path` as a stream of decompressed bytes; nothing is buffered beyond the streams' own. */
export function openDecompressed(path: string, compression: Exclude<Compression, 'bzip2'>): DecompressedFile {
  if (compression === 'xz') return openWithXz(path);
  const file = createReadStream(path, { highWaterMark: READ_SIZE });
  const inProcess = (pipe: DecompressedFile['pipe'], watch: DecompressedFile['watch']): DecompressedFile => ({
    pipe,
    watch,
    exited: Promise.resolve(undefined),
    stop: () => {}, // pipeline() destroys in-process streams when the reader stops
  });
  if (compression === 'none') return inProcess([file], [{ stream: file, origin: 'file' }]);
  if (compression === 'gzip') {
    const gunzip = createGunzip();
    return inProcess([file, gunzip], [{ stream: file, origin: 'file' }, { stream: gunzip, origin: 'decoder' }]);
  }
  const zstd = Readable.from(zstdDecode(file), { objectMode: false, highWaterMark: 256 * 1024 });
  return inProcess([zstd], [{ stream: file, origin: 'file' }, { stream: zstd, origin: 'decoder' }]);
}

function openWithXz(path: string): DecompressedFile {
  let stopped = false;
  const args = ['--decompress', '--stdout', '--format=xz', `--memlimit-decompress=${XZ_MEMLIMIT}`, '--', path];
  const child = spawn(XZ_COMMAND, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    if (stderr.length < STDERR_KEEP) stderr += text.slice(0, STDERR_KEEP - stderr.length);
  });
  const exited = new Promise<StreamFailure | undefined>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      const missing = error.code === 'ENOENT';
      const message = missing
        ? `the ${XZ_COMMAND} command is needed to read xz-compressed tarballs (Debian: apt-get install xz-utils)`
        : `cannot run ${XZ_COMMAND}: ${error.message}`;
      resolve({ origin: 'file', error: new Error(message, { cause: error }) });
    });
    child.once('close', (code, signal) => {
      // A broken pipe means we closed our end first: the tar reader has failed, and says why.
      const brokenPipe = signal === 'SIGPIPE' || /Broken pipe/.test(stderr);
      if (stopped || code === 0 || brokenPipe) return resolve(undefined);
      // "xz: PATH: Unexpected end of input" → "Unexpected end of input": the caller names the file.
      const said = stderr.trim().replace(/^xz: /, '').split(`${path}: `).join('');
      const why = said || (signal ? `killed by ${signal}` : `exit status ${code}`);
      // xz reports a missing or unreadable file itself; that is not corrupt data.
      const origin = /No such file|Permission denied|Is a directory/.test(why) ? 'file' : 'decoder';
      resolve({ origin, error: new Error(why) });
    });
  });
  return {
    pipe: [child.stdout],
    watch: [{ stream: child.stdout, origin: 'decoder' }],
    exited,
    stop: () => {
      stopped = true;
      // Only our own child, by its handle: it would otherwise decode the rest of a multi-GB file.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
