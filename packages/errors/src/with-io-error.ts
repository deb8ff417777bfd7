import { IoError } from './errors.js';
import { LxchunkError } from './lxchunk-error.js';

/**
 * Runs file-system work and reports a failure of the system (ENOSPC, EACCES, EIO...) as IO_ERROR
 * naming what was being done, with the original as `cause`. Our own errors pass through as they are.
 */
export async function withIoError<T>(action: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof LxchunkError) throw err;
    throw new IoError(`${action}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
