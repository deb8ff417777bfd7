/**
 * The one seeded generator of the tests (`@lxchunk/chunker/testing`, never the main entry): test
 * inputs, golden vectors and fuzz cases are the same on every run, so a failure names a seed that
 * reproduces it. xorshift32: the next unsigned 32-bit value on each call.
 */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
}

/** An integer in [0, n) from the generator: scaled, not a modulo, so every value is about as likely. */
export function below(next: () => number, n: number): number {
  return Math.floor((next() / 2 ** 32) * n);
}

/** `length` bytes from the generator, one byte per step. */
export function bytesFrom(next: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

/** `length` bytes from xorshift32(seed), one byte per step (the golden vectors depend on it). */
export function seededBytes(length: number, seed = 0x9e3779b9): Uint8Array {
  return bytesFrom(xorshift32(seed), length);
}

export function seededInts(count: number, below: number, seed = 7): number[] {
  const bytes = seededBytes(count * 4, seed);
  const view = new DataView(bytes.buffer);
  return Array.from({ length: count }, (_, i) => view.getUint32(i * 4, true) % below);
}
