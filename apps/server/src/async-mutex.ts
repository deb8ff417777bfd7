/**
 * Serializes the two operations that must not interleave: committing a manifest (check that its
 * chunks exist, then reference them) and garbage collection (find unreferenced chunks, delete them).
 */
export class AsyncMutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    const previous = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((resolve) => (release = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
