import { open } from 'node:fs/promises';
import { ChunkScanner, type ChunkedFile, type ScanOptions } from './chunk-scanner.js';
import { Sha256Worker } from './sha256-worker.js';

const READ_BYTES = 8 * 1024 * 1024;
/** Below this a worker thread costs more to start than it saves. */
const WORKER_THRESHOLD = 32 * 1024 * 1024;

/**
 * Chunks a file in bounded memory. The next read is in flight while the current buffer is chunked,
 * and (for large files, unless the caller brings its own sink) sha256 runs on a worker thread.
 */
export async function chunkFile(path: string, options: ScanOptions = {}): Promise<ChunkedFile> {
  const file = await open(path, 'r');
  let worker: Sha256Worker | undefined;
  let next: Promise<Uint8Array> | undefined;
  try {
    const { size } = await file.stat();
    if (!options.sha256 && size >= WORKER_THRESHOLD) worker = new Sha256Worker();
    const scanner = new ChunkScanner(worker ? { ...options, sha256: worker } : options);
    const read = async (): Promise<Uint8Array> => {
      // A fresh buffer per read: it is transferred to the hashing thread when done with here.
      const buffer = Buffer.allocUnsafeSlow(READ_BYTES);
      const { bytesRead } = await file.read(buffer, 0, READ_BYTES, null);
      return buffer.subarray(0, bytesRead);
    };
    next = read();
    for (;;) {
      const bytes = await next;
      if (bytes.length === 0) break;
      next = read();
      await scanner.write(bytes);
    }
    return await scanner.finish();
  } finally {
    // A read may still be in flight after an error: let it settle before closing its file.
    await next?.catch(() => undefined);
    await worker?.close();
    await file.close();
  }
}

/** Chunks any byte stream (stdin, an HTTP body); sha256 stays on the calling thread unless given a sink. */
export async function chunkStream(source: AsyncIterable<Uint8Array>, options: ScanOptions = {}): Promise<ChunkedFile> {
  const scanner = new ChunkScanner(options);
  for await (const bytes of source) await scanner.write(bytes);
  return scanner.finish();
}
