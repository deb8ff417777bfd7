import zstd from 'zstd-napi/binding.js';

/** libzstd's recommended output buffer: one block (128 KiB). */
const OUT_SIZE = zstd.dStreamOutSize();

/**
 * Decompresses zstd frames as an async generator, one output block per step. zstd-napi's own
 * DecompressStream pushes all the output of an input chunk at once, ignoring backpressure: 25 KB
 * of zstd'd zeros became 768 MiB held in memory before the reader could stop. Here the consumer
 * pulls each block, so memory stays at a few blocks whatever the ratio. The window stays within
 * libzstd's default limit (128 MiB), so a hostile header cannot make it allocate more.
 */
export async function* zstdDecode(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const dctx = new zstd.DCtx();
  let inFrame = false;
  for await (const chunk of source) {
    let input = chunk;
    for (;;) {
      const out = new Uint8Array(OUT_SIZE);
      const [hint, produced, consumed] = dctx.decompressStream(out, input);
      input = input.subarray(consumed);
      if (produced > 0) yield out.subarray(0, produced);
      // Done with this chunk once it is consumed and the decoder has nothing left to flush.
      if (input.length === 0 && (produced < out.length || hint === 0)) {
        inFrame = hint !== 0;
        break;
      }
    }
  }
  if (inFrame) throw new Error('the data ends inside a zstd frame');
}
