import type { PutResult, QuarantineResult } from './chunk-store.js';

/**
 * Puts and quarantines of one chunk in this process, taking turns: a quarantine judges the copy a
 * put leaves (never moves the fresh copy a repairing put just wrote), a put writes after a
 * quarantine (never under it), and concurrent puts of one id share one write.
 */
export class ChunkTurns {
  private readonly puts = new Map<string, Promise<PutResult>>();
  private readonly quarantines = new Map<string, Promise<QuarantineResult>>();

  /** Runs `write` once no quarantine of `id` is in progress; a put already in flight is shared (stored: false). */
  async put(id: string, write: () => Promise<PutResult>): Promise<PutResult> {
    for (let q = this.quarantines.get(id); q !== undefined; q = this.quarantines.get(id)) await q.catch(() => undefined);
    const pending = this.puts.get(id);
    if (pending !== undefined) return { ...(await pending), stored: false };
    const run = write().finally(() => this.puts.delete(id));
    this.puts.set(id, run);
    return run;
  }

  /** Runs `move` after the puts of `id` in flight; a quarantine already in progress is shared. */
  quarantine(id: string, move: () => Promise<QuarantineResult>): Promise<QuarantineResult> {
    const pending = this.quarantines.get(id);
    if (pending !== undefined) return pending;
    // Registered before its first await, so a put arriving from now on waits for it.
    const run = this.afterPuts(id)
      .then(move)
      .finally(() => this.quarantines.delete(id));
    this.quarantines.set(id, run);
    return run;
  }

  /** Resolves once no quarantine of `id` is in progress: an existence check answers after the move. */
  async quarantined(id: string): Promise<void> {
    const pending = this.quarantines.get(id);
    if (pending !== undefined) await pending.catch(() => undefined);
  }

  private async afterPuts(id: string): Promise<void> {
    for (let p = this.puts.get(id); p !== undefined; p = this.puts.get(id)) await p.catch(() => undefined);
  }
}
