import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { InvalidInputError } from '@lxchunk/errors';
import { mapSquashfs, type SquashfsMap } from '../src/index.js';
import { mutate } from './mutate.js';

/** Messages to the test, which restarts its watchdog at every 'start'. */
export type FuzzMessage =
  | { kind: 'start'; image: string; index: number; seed: number; description: string }
  | { kind: 'failure'; image: string; index: number; seed: number; description: string; error: string }
  | { kind: 'finished'; mapped: number; refused: number };

export interface FuzzJob {
  images: string[];
  baseSeed: number;
  cases: number;
  scratch: string;
}

/** The seed of one case, derived so that any single case can be rerun alone. */
export function caseSeed(baseSeed: number, image: number, index: number): number {
  return (Math.imul(baseSeed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(image + 1, 0xc2b2ae35) + index) >>> 0;
}

/** A map of a damaged image is still a map: whole, ordered, and its blocks inside the image. */
function checkMap(map: SquashfsMap): void {
  let at = 0;
  for (const range of map.ranges) {
    if (range.offset !== at || range.length <= 0) throw new Error(`ranges not contiguous at ${at}: ${JSON.stringify(range)}`);
    at += range.length;
  }
  if (at !== map.fileSize) throw new Error(`ranges end at ${at}, the file at ${map.fileSize}`);
  for (const file of map.files) {
    for (const block of file.blocks) {
      if (block.offset < 0 || block.offset + block.length > map.superblock.bytesUsed) throw new Error(`${file.path}: block outside the image`);
    }
    if (file.fragment && !map.fragments[file.fragment.index]) throw new Error(`${file.path}: unknown fragment`);
  }
}

async function main(job: FuzzJob): Promise<void> {
  const port = parentPort!;
  const post = (message: FuzzMessage): void => port.postMessage(message);
  const target = join(job.scratch, 'mutated.squashfs');
  let mapped = 0;
  let refused = 0;
  for (const [imageIndex, path] of job.images.entries()) {
    const original = new Uint8Array(await readFile(path));
    for (let index = 0; index < job.cases; index++) {
      const seed = caseSeed(job.baseSeed, imageIndex, index);
      const { bytes, description } = mutate(original, seed);
      const where = { image: path, index, seed, description };
      post({ kind: 'start', ...where });
      await writeFile(target, bytes);
      try {
        checkMap(await mapSquashfs(target));
        mapped++;
      } catch (err) {
        if (err instanceof InvalidInputError) refused++;
        else post({ kind: 'failure', ...where, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      }
    }
  }
  post({ kind: 'finished', mapped, refused });
}

if (parentPort) await main(workerData as FuzzJob);
