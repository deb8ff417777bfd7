import { InvalidParamsError } from '@lxchunk/errors';

/**
 * How a file was cut, recorded in its index beside the params: a seed shares chunks with an image
 * only when it is cut the same way. 'cdc': content-defined chunking over the whole file.
 * 'squashfs': cuts on the image's block boundaries (SegmentedChunkerCore over its byte map).
 */
export type ChunkMethod = 'cdc' | 'squashfs';

export const CHUNK_METHODS: readonly ChunkMethod[] = ['cdc', 'squashfs'];

/** Content-defined chunking parameters, in bytes. Recorded in every index: a seed is only useful if
 * it was chunked with the same parameters as the image it seeds. */
export interface ChunkParams {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

/**
 * Defaults chosen by measurement (`pnpm bench:params`, real Debian bookworm minbase images: a
 * rebuild, the pending security updates, four added packages; stock and -no-fragments squashfs).
 * Bytes fetched per upgrade, index included, fall as chunks shrink: 26.1% of the image at avg
 * 64 KiB, 23.6% at 32 KiB, 20.8% at 16 KiB. Each halving doubles the chunks the server stores,
 * looks up and sends (one file read and one access check each), so 32 KiB takes most of the
 * saving over 64 KiB at half the object count of 16 KiB.
 */
export const DEFAULT_PARAMS: ChunkParams = Object.freeze({ min: 8 * 1024, avg: 32 * 1024, max: 128 * 1024 });

/**
 * Defaults for the 'squashfs' method, where `min` is also the size small blocks are grouped to.
 * Measured with `chunk estimate` on the bench:transfer images (index and manifest included, the
 * manifest compressed against the held image's): -no-fragments update 1.13x xdelta3's delta at
 * 2/16/64 KiB against 1.21x at 8/32/128; add-packages 1.03x against 1.11x; stock update 7.3 MiB
 * against 8.4 MiB. The price is about twice the chunks (5,200 for a 40 MiB image); the image's
 * blocks bound how much smaller pays: 1 KiB groups gain under 1% more.
 */
export const DEFAULT_SQUASHFS_PARAMS: ChunkParams = Object.freeze({ min: 2 * 1024, avg: 16 * 1024, max: 64 * 1024 });

/** The default params for a method. */
export function defaultParamsFor(method: ChunkMethod): ChunkParams {
  return method === 'squashfs' ? DEFAULT_SQUASHFS_PARAMS : DEFAULT_PARAMS;
}

/**
 * fastcdc-wasm traps (`RuntimeError: unreachable`) outside these ranges and does not check
 * min <= avg <= max itself. The upper bound of `max` is ours: the streaming window holds a few
 * maximum-size chunks, and it must stay far below the 2 GiB where the library's offsets go wrong.
 */
export const PARAM_LIMITS = Object.freeze({
  min: { low: 64, high: 64 * 1024 * 1024 },
  avg: { low: 256, high: 64 * 1024 * 1024 },
  max: { low: 1024, high: 64 * 1024 * 1024 },
});

export function validateParams(params: ChunkParams): ChunkParams {
  for (const key of ['min', 'avg', 'max'] as const) {
    const value = params[key];
    const { low, high } = PARAM_LIMITS[key];
    if (!Number.isSafeInteger(value) || value < low || value > high) {
      throw new InvalidParamsError(`chunk ${key} size must be an integer from ${low} to ${high}, got ${String(value)}`);
    }
  }
  if (!(params.min <= params.avg && params.avg <= params.max)) {
    throw new InvalidParamsError(
      `chunk sizes must satisfy min <= avg <= max, got ${params.min}/${params.avg}/${params.max}`,
    );
  }
  return Object.freeze({ min: params.min, avg: params.avg, max: params.max });
}

export function sameParams(a: ChunkParams, b: ChunkParams): boolean {
  return a.min === b.min && a.avg === b.avg && a.max === b.max;
}
