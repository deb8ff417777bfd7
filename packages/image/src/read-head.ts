import { open } from 'node:fs/promises';
import { InvalidInputError, IoError } from '@lxchunk/errors';

/**
 * The first `length` bytes of a regular file (fewer if it is shorter). Refuses what is not a
 * regular file up front, so callers report "is a directory" rather than a stream error later.
 */
export async function readHead(path: string, length: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    throw ioError(path, err);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new InvalidInputError(`${path}: not a regular file`);
    const buf = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle.read(buf, filled, length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buf.subarray(0, filled);
  } catch (err) {
    if (err instanceof InvalidInputError) throw err;
    throw ioError(path, err);
  } finally {
    await handle.close();
  }
}

/** A missing file is the caller's mistake (a wrong path); anything else is the machine's. */
export function ioError(path: string, err: unknown): Error {
  const code = (err as { code?: unknown } | null)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'ENOENT') return new InvalidInputError(`${path}: no such file`, { cause: err });
  if (code === 'EISDIR') return new InvalidInputError(`${path}: not a regular file`, { cause: err });
  return new IoError(`cannot read ${path}: ${detail}`, { cause: err });
}
