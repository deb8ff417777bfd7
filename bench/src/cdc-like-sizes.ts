import { validateParams, type ChunkParams } from '@lxchunk/chunker';
import { xorshift32 } from '@lxchunk/chunker/testing';

/** The project's parameter shape: min = avg/4, max = avg*4 (as DEFAULT_PARAMS and bench:params). */
export function cdcParams(avg: number): ChunkParams {
  return validateParams({ min: avg / 4, avg, max: avg * 4 });
}

/**
 * Chunk lengths shaped like content-defined chunking output on incompressible data: each cut is
 * `min` plus an exponentially distributed run (a cut point is equally likely at every byte past
 * the minimum), clamped at `max`, so the lengths spread over min..max with mean ≈ avg. They add up
 * to exactly `total`; only the last one may be shorter than `min`. Deterministic for a seed.
 */
export function cdcLikeSizes(total: number, params: ChunkParams, seed = 1): number[] {
  const random = seededUnit(seed);
  const sizes: number[] = [];
  let left = total;
  while (left > 0) {
    const run = -Math.log(1 - random()) * (params.avg - params.min);
    const size = Math.min(left, params.max, params.min + Math.floor(run));
    sizes.push(size);
    left -= size;
  }
  return sizes;
}

/** The tests' seeded generator scaled to [0, 1): reproducible chunk lengths across runs. */
export function seededUnit(seed: number): () => number {
  const next = xorshift32(seed);
  return () => next() / 2 ** 32;
}
