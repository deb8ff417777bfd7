import { Worker } from 'node:worker_threads';
import type { Sha256Handle, Sha256Sink } from './sha256-sink.js';

/**
 * Hashes sha256 on a second core while the caller chunks and BLAKE3-hashes on its own: sha256 is
 * the slowest of the three, so this is what lets a scan beat `sha256sum` alone. Buffers are
 * transferred, not copied, and at most `maxInFlight` wait in the worker, which bounds memory.
 */
export class Sha256Worker implements Sha256Sink {
  private readonly worker: Worker;
  private next = 1;
  private inFlight = 0;
  private readonly drained: Array<() => void> = [];
  private readonly digests = new Map<Sha256Handle, { resolve(hex: string): void; reject(err: Error): void }>();
  private failure: Error | undefined;

  constructor(private readonly maxInFlight = 4) {
    this.worker = new Worker(new URL('./sha256-thread.js', import.meta.url));
    this.worker.on('message', (message: { op: 'ack' } | { op: 'digest'; handle: number; hex: string }) => {
      if (message.op === 'ack') {
        this.inFlight--;
        this.drained.shift()?.();
      } else {
        this.digests.get(message.handle)?.resolve(message.hex);
        this.digests.delete(message.handle);
      }
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`sha256 worker exited with code ${code}`)));
  }

  create(): Sha256Handle {
    const handle = this.next++;
    this.worker.postMessage({ op: 'create', handle });
    return handle;
  }

  async update(handles: readonly Sha256Handle[], bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    while (this.inFlight >= this.maxInFlight) {
      await new Promise<void>((resolve) => this.drained.push(resolve));
      if (this.failure) throw this.failure;
    }
    this.inFlight++;
    // Transfer only a buffer this view covers whole; anything else (a pooled or shared buffer) is copied.
    const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
    const payload = whole ? bytes : bytes.slice();
    this.worker.postMessage({ op: 'update', handles, bytes: payload }, [payload.buffer as ArrayBuffer]);
  }

  digest(handle: Sha256Handle): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.digests.set(handle, { resolve, reject });
      this.worker.postMessage({ op: 'digest', handle });
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error('sha256 worker closed');
    await this.worker.terminate();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.digests.values()) waiter.reject(err);
    this.digests.clear();
    for (const wake of this.drained.splice(0)) wake();
  }
}
