/**
 * The self-test's input, generated rather than shipped: 48 KiB of word-like text (long matches,
 * literals, repeats at many distances) followed by 16 KiB of bytes with x86 call opcodes (E8 + a
 * relative address), so the x86 filter changes something. Any change here changes the golden hash.
 */
export function selfTestSample(): Uint8Array {
  const words = ['squashfs', 'block', 'chunk', 'lzma', 'image', 'the', 'of', 'a', 'fragment', 'inode', 'table', 'content'];
  let x = 0x2545f491;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const out = new Uint8Array(64 * 1024);
  let at = 0;
  while (at < 48 * 1024) {
    const word = words[next() % words.length]!;
    for (let i = 0; i < word.length && at < 48 * 1024; i++) out[at++] = word.charCodeAt(i);
    if (at < 48 * 1024) out[at++] = next() % 9 === 0 ? 10 : 32;
  }
  while (at < out.length) {
    out[at++] = next() % 4 === 0 ? 0xe8 : next() & 0xff;
  }
  return out;
}
