/** xz's variable-length integers: 7 bits a byte, least significant first, high bit = more follows. */
export function encodeVli(value: number): number[] {
  const bytes: number[] = [];
  let v = value;
  while (v >= 0x80) {
    bytes.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  bytes.push(v);
  return bytes;
}

/** Reads a VLI at `offset`; undefined when it runs past `end` or is longer than xz allows (9 bytes). */
export function decodeVli(bytes: Uint8Array, offset: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 9 && offset + i < end; i++) {
    const byte = bytes[offset + i]!;
    value += (byte & 0x7f) * scale;
    scale *= 0x80;
    if ((byte & 0x80) === 0) {
      // A multi-byte VLI ending in a zero byte is not the canonical encoding: liblzma refuses it.
      if (i > 0 && byte === 0) return undefined;
      return { value, next: offset + i + 1 };
    }
  }
  return undefined;
}
