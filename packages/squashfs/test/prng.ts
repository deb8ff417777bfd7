/**
 * A tiny seeded PRNG (mulberry32): test trees and fuzz mutations are the same on every run, so a
 * failure names a seed and case that reproduce it.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uint32. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.next() / 2 ** 32) * n);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** Compressible text: words from a small vocabulary. */
  text(n: number): Uint8Array {
    const words = ['squashfs', 'chunk', 'block', 'fragment', 'inode', 'lxd', 'image', 'debian', 'bookworm', 'the', 'a', '\n'];
    let s = '';
    while (s.length < n) s += words[this.below(words.length)]! + ' ';
    return new TextEncoder().encode(s.slice(0, n));
  }
}
