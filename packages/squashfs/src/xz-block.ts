import xzDecompress from 'xz-decompress';

const { XzReadableStream } = xzDecompress;

/**
 * Decodes one xz stream (squashfs' xz blocks are complete .xz streams with a CRC32 check) with
 * xz-decompress: xz-embedded compiled to WebAssembly, the same decoder the Linux kernel uses to
 * mount xz squashfs. A process per 8 KiB metadata block (the system `xz`) would cost milliseconds
 * each; this costs a fraction of one, has no native build, and refuses dictionaries above its
 * limit (so a hostile header cannot make it allocate gigabytes).
 *
 * xz-decompress serialises its decoders behind one lock that is released only when a stream
 * ends, fails or is cancelled: every path below ends the stream one of those ways, or every later
 * decode would wait forever. Throws a plain Error on corrupt input; the caller names the block.
 */
export async function xzDecodeBlock(input: Uint8Array, maxOutput: number): Promise<Uint8Array> {
  // xz-decompress reads a null chunk (TypeError) when its source is empty: refuse that first.
  if (input.length === 0) throw new Error('empty xz stream');
  const reader = new XzReadableStream(new Blob([input]).stream()).getReader();
  const out = new Uint8Array(maxOutput);
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read().catch((err: unknown) => {
      throw new Error(explain(err));
    });
    if (done) return out.subarray(0, length);
    if (value.length > maxOutput - length) {
      await reader.cancel();
      throw new Error(`xz output exceeds ${maxOutput} bytes`);
    }
    out.set(value, length);
    length += value.length;
  }
}

/** xz-embedded's return codes (xz.h), which xz-decompress reports as bare numbers. */
const XZ_ERRORS: Record<string, string> = {
  '2': 'unsupported integrity check',
  '3': 'out of memory',
  '4': 'dictionary larger than the decoder allows',
  '5': 'not xz data',
  '6': 'unsupported xz options (BCJ filters, as `mksquashfs -Xbcj` uses, are not built in)',
  '7': 'corrupt xz data',
  '8': 'xz data cut short',
};

function explain(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = /error code (\d+)/.exec(message)?.[1];
  return code !== undefined && XZ_ERRORS[code] ? `${XZ_ERRORS[code]} (xz-embedded code ${code})` : message;
}
