import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashMismatchError, InternalError, UnavailableError } from '@lxchunk/errors';
import type { ChunkIndex } from '@lxchunk/format';
import type { ChunkReader } from '@lxchunk/store';
import { imageFileBytes } from './image-file-bytes.js';

/** xdelta3's default source window is 64 MiB; a window over the whole held image finds moved blocks too. */
const MIN_WINDOW = 64 * 1024 * 1024;
/** xdelta3 holds its window in memory: past this, matches far back in a larger image are given up. */
const MAX_WINDOW = 1024 * 1024 * 1024;

/**
 * Writes to `outPath` the VCDIFF delta that turns file `base` into file `target` (`xdelta3 -e -9`,
 * what LXD applies with `xdelta3 -d -s`), both rebuilt from their chunks into `workDir`. The delta
 * is decoded once against the base and must give exactly the target's sha256 before it is kept.
 */
export async function makeImageDelta(store: ChunkReader, base: ChunkIndex, target: ChunkIndex, workDir: string, outPath: string, signal?: AbortSignal): Promise<void> {
  const dir = await mkdtemp(join(workDir, 'make-'));
  try {
    const basePath = join(dir, 'base');
    const targetPath = join(dir, 'target');
    await pipeline(Readable.from(imageFileBytes(store, base, signal), { objectMode: false }), createWriteStream(basePath), { signal });
    await pipeline(Readable.from(imageFileBytes(store, target, signal), { objectMode: false }), createWriteStream(targetPath), { signal });
    let window = MIN_WINDOW;
    while (window < base.size && window < MAX_WINDOW) window *= 2;
    await xdelta3(['-e', '-9', '-f', '-B', String(window), '-s', basePath, targetPath, outPath], undefined, signal);
    const decoded = createHash('sha256');
    await xdelta3(['-d', '-c', '-s', basePath, outPath], (bytes) => decoded.update(bytes), signal);
    const actual = decoded.digest('hex');
    if (actual !== target.sha256) throw new HashMismatchError('xdelta3 delta decoded against its base', target.sha256, actual);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function xdelta3(args: readonly string[], onStdout: ((bytes: Buffer) => void) | undefined, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('xdelta3', args, { stdio: ['ignore', onStdout ? 'pipe' : 'ignore', 'pipe'], ...(signal ? { signal } : {}) });
    let stderr = '';
    child.stdout?.on('data', onStdout!);
    child.stderr!.on('data', (bytes: Buffer) => (stderr = (stderr + bytes.toString()).slice(-2000)));
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? new UnavailableError('xdelta3 is not installed: simplestreams deltas are off', { cause: err }) : err);
    });
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new InternalError(`xdelta3 ${args[0]} exited with ${code}: ${stderr.trim()}`));
    });
  });
}
