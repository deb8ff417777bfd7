import { pipeline } from 'node:stream/promises';
import { InvalidInputError, IoError, isLxchunkError } from '@lxchunk/errors';
import { extract as tarExtract, type Extract, type Header } from 'tar-stream';
import { COMPRESSION_MAGIC_BYTES, detectCompression, type Compression } from './compression.js';
import { openDecompressed, type StreamFailure } from './decompressed-file.js';
import { ioError, readHead } from './read-head.js';

/** tar-stream's entry stream (a streamx Readable), which its typings do not name. */
export type TarEntryBody = Extract extends AsyncIterable<infer S> ? S : never;

export interface TarEntry {
  /** The path as extraction would create it: no leading `./` or `/`, no trailing `/`. */
  readonly name: string;
  readonly header: Header;
  /** The entry's bytes. What the visitor leaves unread is skipped. */
  readonly body: TarEntryBody;
}

/** What a visitor tells the scan: go on to the next entry, or stop reading the file here. */
export type ScanStep = 'continue' | 'stop';

type Origin = StreamFailure['origin'] | 'tar';

/**
 * Streams a (possibly compressed) tar and shows each entry to `visit` in archive order. Memory
 * stays bounded whatever the file's size: bodies flow through unless the visitor reads them, and
 * 'stop' ends decompression at once. Failures become InvalidInputError naming the file and what
 * is wrong with it (bzip2, corrupt compressed data, not a tar, truncated); a missing file too;
 * a visitor's own errors pass through unchanged. Returns the compression found.
 */
export async function scanTar(path: string, visit: (entry: TarEntry) => Promise<ScanStep>): Promise<Compression> {
  const compression = detectCompression(await readHead(path, COMPRESSION_MAGIC_BYTES));
  if (compression === 'bzip2') {
    // LXD reads bzip2, but nothing current writes it and Node has no maintained streaming decoder.
    throw new InvalidInputError(`${path}: bzip2-compressed tarballs are not supported; recompress it with xz, gzip or zstd`);
  }
  const source = openDecompressed(path, compression);
  const extract = tarExtract();

  // pipeline() forwards one stream's error to all the others, so the first 'error' seen is the
  // root cause: that is how a corrupt .tar.gz is told from a good gzip of something not a tar.
  let first: { origin: Origin; error: Error } | undefined;
  let stopped = false;
  const note = (origin: Origin) => (error: Error) => {
    if (!stopped && first === undefined) first = { origin, error };
  };
  for (const { stream, origin } of source.watch) stream.on('error', note(origin));
  extract.on('error', note('tar'));
  const piping = pipeline([...source.pipe, extract]).catch(() => undefined);

  let entries = 0;
  let visitorError: { error: unknown } | undefined;
  try {
    for await (const body of extract) {
      entries += 1;
      let step: ScanStep;
      try {
        step = await visit({ name: entryName(body.header.name), header: body.header, body });
      } catch (error) {
        // The visitor's verdicts are ours; anything else came from reading the entry's body (the
        // data ended inside it) and is weighed like any stream failure below.
        if (!isLxchunkError(error)) {
          note('tar')(error instanceof Error ? error : new Error(String(error)));
          break;
        }
        visitorError = { error };
        step = 'stop';
      }
      if (step === 'stop') {
        stopped = true; // before break: the teardown that follows reports errors of its own
        source.stop();
        break;
      }
      body.resume();
    }
  } catch (err) {
    note('tar')(err instanceof Error ? err : new Error(String(err)));
  }
  await piping;
  const exited = await source.exited;

  if (visitorError) throw visitorError.error;
  if (stopped) return compression;
  // A decoder in another process fails by its exit status; its truncated output looks to the tar
  // parser like a truncated tar, so its verdict comes first.
  const failure = exited ?? first;
  if (failure === undefined) return compression;
  if (failure.origin === 'file') throw fileError(path, failure.error);
  if (failure.origin === 'decoder') {
    throw new InvalidInputError(`${path}: corrupt or truncated ${compression} data (${failure.error.message})`, {
      cause: failure.error,
    });
  }
  throw tarError(path, compression, failure.error, entries);
}

/** `./metadata.yaml`, `/metadata.yaml` and `metadata.yaml` are one file once extracted. */
export function entryName(raw: string): string {
  let name = raw;
  for (;;) {
    if (name.startsWith('./')) name = name.slice(2);
    else if (name.startsWith('/')) name = name.slice(1);
    else break;
  }
  while (name.endsWith('/')) name = name.slice(0, -1);
  return name;
}

function fileError(path: string, error: Error): Error {
  if ((error as { code?: unknown }).code !== undefined) return ioError(path, error);
  if (/No such file/.test(error.message)) return new InvalidInputError(`${path}: no such file`, { cause: error });
  return new IoError(`cannot read ${path}: ${error.message}`, { cause: error });
}

function tarError(path: string, compression: Compression, error: Error, entries: number): InvalidInputError {
  const what = compression === 'none' ? 'a tar archive' : `a tar archive inside its ${compression} compression`;
  if (/Unexpected end of data/.test(error.message)) {
    // Shorter than one 512-byte header: too little to be an archive at all.
    if (entries === 0) return new InvalidInputError(`${path}: not ${what} (shorter than a tar header)`, { cause: error });
    return new InvalidInputError(`${path}: truncated tar archive (the data ends inside an entry)`, { cause: error });
  }
  if (/Invalid tar header/.test(error.message)) {
    // tar-stream's own wording suggests gunzip, which is already taken care of here.
    if (entries === 0) return new InvalidInputError(`${path}: not ${what} (no valid tar header at its start)`, { cause: error });
    return new InvalidInputError(`${path}: corrupt tar archive (bad header after ${entries} entries)`, { cause: error });
  }
  return new InvalidInputError(`${path}: malformed tar archive (${error.message})`, { cause: error });
}
