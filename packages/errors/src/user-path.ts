import { stat } from 'node:fs/promises';
import { InvalidInputError, IoError, NotFoundError } from './errors.js';
import { LxchunkError } from './lxchunk-error.js';

/**
 * What a path the user named must be: an existing `file` (a block device counts), an existing
 * `dir`, or `dir-or-absent` (a directory that is created when missing, like `pull --out`).
 */
export type UserPathKind = 'file' | 'dir' | 'dir-or-absent';

/**
 * Checks a path the user gave before any work starts, so a mistake is reported as that path and
 * the option or argument it came from (`--seed /x/y: no such file`), not as a raw ENOENT naming
 * a temporary file deep inside. Missing: NOT_FOUND; the wrong kind: INVALID_INPUT; anything else
 * (EACCES, EIO…): IO_ERROR. The fs error is the `cause`.
 */
export async function checkUserPath(origin: string, path: string, kind: UserPathKind): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    if (kind === 'dir-or-absent' && (err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw userPathError(origin, path, err, kind);
  }
  if (kind === 'file' && !info.isFile() && !info.isBlockDevice()) {
    throw new InvalidInputError(`${origin} ${path}: ${info.isDirectory() ? 'is a directory, not a file' : 'is not a regular file'}`);
  }
  if (kind !== 'file' && !info.isDirectory()) throw new InvalidInputError(`${origin} ${path}: is not a directory`);
}

/** An fs failure on a path the user gave, worded as checkUserPath words it. Our own errors pass through. */
export function userPathError(origin: string, path: string, err: unknown, kind: UserPathKind = 'file'): LxchunkError {
  if (err instanceof LxchunkError) return err;
  const what = kind === 'file' ? 'file' : 'directory';
  const at = `${origin} ${path}`;
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return new NotFoundError(`${at}: no such ${what}`, { cause: err });
    case 'ENOTDIR':
      return new InvalidInputError(`${at}: a part of the path is not a directory`, { cause: err });
    case 'EISDIR':
      return new InvalidInputError(`${at}: is a directory, not a file`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new IoError(`${at}: permission denied`, { cause: err });
    default:
      return new IoError(`${at}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
