/**
 * Decodes one raw LZ4 block (no frame), as squashfs stores them (the kernel uses
 * LZ4_decompress_safe). A dozen lines of format do not justify a dependency, and a bounded decoder
 * of our own cannot be made to write past `maxOutput` or read past the input by a corrupt block.
 * Throws a plain Error on corrupt input; the caller names the block.
 */
export function lz4DecodeBlock(input: Uint8Array, maxOutput: number): Uint8Array {
  const out = new Uint8Array(maxOutput);
  let ip = 0;
  let op = 0;
  // Lengths of 15 continue in following bytes, each adding up to 255 until one is below 255.
  const extend = (length: number): number => {
    if (length !== 15) return length;
    for (;;) {
      if (ip >= input.length) throw new Error('lz4 length runs past the input');
      const byte = input[ip++]!;
      length += byte;
      if (length > maxOutput) throw new Error('lz4 length exceeds the output size');
      if (byte !== 255) return length;
    }
  };
  while (ip < input.length) {
    const token = input[ip++]!;
    const literals = extend(token >> 4);
    if (literals > input.length - ip) throw new Error('lz4 literals run past the input');
    if (literals > maxOutput - op) throw new Error(`lz4 output exceeds ${maxOutput} bytes`);
    out.set(input.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip === input.length) break; // the last sequence has literals only
    if (ip + 2 > input.length) throw new Error('lz4 match offset runs past the input');
    const distance = input[ip]! | (input[ip + 1]! << 8);
    ip += 2;
    if (distance === 0 || distance > op) throw new Error(`lz4 match offset ${distance} points before the output`);
    const length = extend(token & 15) + 4;
    if (length > maxOutput - op) throw new Error(`lz4 output exceeds ${maxOutput} bytes`);
    // Byte by byte: a match may overlap the bytes it produces (distance < length).
    for (let from = op - distance, end = op + length; op < end; ) out[op++] = out[from++]!;
  }
  return out.subarray(0, op);
}
