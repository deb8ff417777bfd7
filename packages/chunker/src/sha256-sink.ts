import { createHash, type Hash } from 'node:crypto';

/** An opaque sha256 state owned by a Sha256Sink. */
export type Sha256Handle = number;

/**
 * Where a scan sends the bytes it reads to be sha256-hashed. One buffer can feed several states
 * at once: a file's own hash and LXD's fingerprint, which runs over metadata ‖ rootfs.
 */
export interface Sha256Sink {
  create(): Sha256Handle;
  /** `bytes` must not be modified afterwards: a worker may still be reading it. */
  update(handles: readonly Sha256Handle[], bytes: Uint8Array): Promise<void> | void;
  digest(handle: Sha256Handle): Promise<string>;
  close(): Promise<void>;
}

/** Hashes on the calling thread: right for small inputs, where a worker costs more than it saves. */
export class InlineSha256 implements Sha256Sink {
  private readonly states = new Map<Sha256Handle, Hash>();
  private next = 1;

  create(): Sha256Handle {
    const handle = this.next++;
    this.states.set(handle, createHash('sha256'));
    return handle;
  }

  update(handles: readonly Sha256Handle[], bytes: Uint8Array): void {
    for (const handle of handles) this.state(handle).update(bytes);
  }

  async digest(handle: Sha256Handle): Promise<string> {
    const hex = this.state(handle).digest('hex');
    this.states.delete(handle);
    return hex;
  }

  async close(): Promise<void> {
    this.states.clear();
  }

  private state(handle: Sha256Handle): Hash {
    const state = this.states.get(handle);
    if (!state) throw new Error(`unknown sha256 handle ${handle}`);
    return state;
  }
}
