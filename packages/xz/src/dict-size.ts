/**
 * LZMA2's one-byte dictionary size (xz format 5.3.1): 2^n or 2^n + 2^(n-1), at least 4 KiB, byte 40
 * meaning 4 GiB − 1. The encoder rounds its dict_size up to the next such value for the header.
 */
export function encodeDictByte(dictSize: number): number {
  const d = Math.max(dictSize, 4096);
  for (let byte = 0; byte < 40; byte++) if (decodeDictByte(byte)! >= d) return byte;
  return 40;
}

export function decodeDictByte(byte: number): number | undefined {
  if (byte > 40) return undefined;
  if (byte === 40) return 0xffffffff;
  return (2 | (byte & 1)) * 2 ** (Math.floor(byte / 2) + 11);
}
