import { createHash } from 'node:crypto';
import { encodeXzBlock } from './encode-xz-block.js';
import { selfTestSample } from './self-test-sample.js';
import type { XzRecipe } from './xz-recipe.js';

/** One plain and one BCJ recipe: both code paths mksquashfs uses. */
const RECIPES: readonly XzRecipe[] = [
  { dictSize: 1 << 20, filter: 'none', check: 'crc32' },
  { dictSize: 1 << 20, filter: 'x86', check: 'crc32' },
];

/** sha256 of the two encodings of the sample, concatenated, as the pinned liblzma 5.2.3 writes them. */
export const SELF_TEST_SHA256 = '7c12a9e84b1a70a9ffb1e1f54d5155970d1743e335000c5bbf8307a873e52ad3';

/** `encodeBytesPerSecond`: what this thread re-encoded per second during the test, a measure of the host. */
export type SelfTestResult = { ok: true; encodeBytesPerSecond: number } | { ok: false; reason: string };

/**
 * Encodes a built-in sample and compares the result with a pinned hash. Rebuilt blocks are only
 * trustworthy if this encoder writes exactly what the recipes were found with: a different addon,
 * liblzma or CPU-specific path would rebuild wrong bytes (caught later by the block hash, but as a
 * failed fetch). Callers run this once at startup and, when it fails, turn rebuilding off with a
 * warning carrying `reason`.
 */
export function selfTest(): SelfTestResult {
  try {
    const sample = selfTestSample();
    const started = performance.now();
    const hash = createHash('sha256');
    for (const recipe of RECIPES) hash.update(encodeXzBlock(sample, recipe));
    const actual = hash.digest('hex');
    if (actual !== SELF_TEST_SHA256) {
      return { ok: false, reason: `the xz encoder's output for the self-test sample has sha256 ${actual}, expected ${SELF_TEST_SHA256}` };
    }
    const seconds = Math.max((performance.now() - started) / 1000, 1e-6);
    return { ok: true, encodeBytesPerSecond: (sample.length * RECIPES.length) / seconds };
  } catch (err) {
    return { ok: false, reason: `the xz encoder does not work here: ${(err as Error).message}` };
  }
}
