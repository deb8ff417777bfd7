import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { InternalError, InvalidInputError, InvalidParamsError, UnavailableError } from '@lxchunk/errors';
import type { WorkerError, XzJob, XzJobResult } from './xz-job.js';
import type { XzRecipe } from './xz-recipe.js';

export interface XzPoolOptions {
  /** Worker threads; default every core (availableParallelism). */
  threads?: number;
  /** Jobs that may wait beyond one per thread before callers are made to wait; default 2 per thread. */
  maxQueued?: number;
}

interface Task {
  job: XzJob;
  resolve(result: XzJobResult): void;
  reject(err: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface Slot {
  worker: Worker;
  task: Task | undefined;
}

/**
 * Re-encodes xz blocks on every core. A block takes hundreds of milliseconds of liblzma, so one
 * job per message is cheap overhead. The queue is bounded: a caller submitting beyond
 * `threads + maxQueued` jobs waits for room, so a push reading a 1 GB image holds a few blocks in
 * memory, not all. A job whose signal aborts is dropped from the queue, or, if it is running,
 * its worker is replaced (liblzma cannot be interrupted) and the job rejects with the signal's
 * reason. A worker that dies fails its job with InternalError and is replaced.
 */
export class XzPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private readonly roomWaiters: Array<() => void> = [];
  private readonly maxQueued: number;
  private closed = false;
  private nextId = 1;
  private workMs = 0;

  constructor(options: XzPoolOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    this.maxQueued = options.maxQueued ?? 2 * threads;
    if (!Number.isInteger(threads) || threads < 1) throw new InvalidParamsError(`xz pool threads must be a positive integer, got ${threads}`);
    if (!Number.isInteger(this.maxQueued) || this.maxQueued < 0) throw new InvalidParamsError(`xz pool maxQueued must be a non-negative integer, got ${this.maxQueued}`);
    for (let i = 0; i < threads; i++) this.slots.push(this.spawn());
  }

  get threads(): number {
    return this.slots.length;
  }

  /** CPU seconds the workers spent on finished jobs (their threads' clocks; wall time off Linux). */
  get workSeconds(): number {
    return this.workMs / 1000;
  }

  /** encodeXzBlock on a worker. */
  async encode(content: Uint8Array, recipe: XzRecipe, signal?: AbortSignal): Promise<Uint8Array> {
    const result = await this.run({ op: 'encode', content, recipe }, signal);
    return (result as Extract<XzJobResult, { op: 'encode' }>).bytes;
  }

  /** findRecipe on a worker. */
  async findRecipe(compressed: Uint8Array, content: Uint8Array, signal?: AbortSignal): Promise<XzRecipe | undefined> {
    const result = await this.run({ op: 'find', compressed, content }, signal);
    return (result as Extract<XzJobResult, { op: 'find' }>).recipe;
  }

  /** Rejects every waiting and running job and stops the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new UnavailableError('the xz pool is closed');
    for (const task of this.queue.splice(0)) this.settle(task, () => task.reject(err));
    for (const wake of this.roomWaiters.splice(0)) wake();
    await Promise.all(
      this.slots.map(async (slot) => {
        const task = slot.task;
        slot.task = undefined;
        if (task) this.settle(task, () => task.reject(err));
        await slot.worker.terminate();
      }),
    );
  }

  private async run(job: XzJob, signal: AbortSignal | undefined): Promise<XzJobResult> {
    signal?.throwIfAborted();
    while (!this.closed && this.queue.length >= this.maxQueued && this.slots.every((s) => s.task)) {
      await this.waitForRoom(signal);
      signal?.throwIfAborted();
    }
    if (this.closed) throw new UnavailableError('the xz pool is closed');
    return new Promise<XzJobResult>((resolve, reject) => {
      const task: Task = { job, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        task.onAbort = () => this.abort(task);
        signal.addEventListener('abort', task.onAbort, { once: true });
      }
      this.queue.push(task);
      this.dispatch();
    });
  }

  /** Waits until a job leaves the queue or a worker becomes free; an abort meanwhile rejects. */
  private waitForRoom(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        const index = this.roomWaiters.indexOf(wake);
        if (index >= 0) this.roomWaiters.splice(index, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.roomWaiters.push(wake);
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task) continue;
      const task = this.nextLiveTask();
      if (!task) break;
      slot.task = task;
      slot.worker.postMessage({ id: this.nextId++, job: task.job });
    }
    // Every waiter re-checks for room itself: simpler than counting, and waiters are few.
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** The next queued job whose signal has not aborted; the aborted ones are rejected on the way. */
  private nextLiveTask(): Task | undefined {
    for (let task = this.queue.shift(); task; task = this.queue.shift()) {
      // Its abort listener may not have run yet (several jobs share a signal): do not start it.
      if (!task.signal?.aborted) return task;
      const aborted = task;
      this.settle(aborted, () => aborted.reject(aborted.signal!.reason));
    }
    return undefined;
  }

  private abort(task: Task): void {
    const reason = task.signal!.reason;
    const queued = this.queue.indexOf(task);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.dispatch();
    } else {
      const index = this.slots.findIndex((s) => s.task === task);
      if (index >= 0) this.replace(index);
    }
    this.settle(task, () => task.reject(reason));
  }

  /** Terminates a busy worker (its result is no longer wanted or it died) and starts a fresh one. */
  private replace(index: number): void {
    const old = this.slots[index]!;
    old.task = undefined;
    old.worker.removeAllListeners();
    void old.worker.terminate();
    if (this.closed) return;
    this.slots[index] = this.spawn();
    this.dispatch();
  }

  private spawn(): Slot {
    const slot: Slot = { worker: new Worker(new URL('./xz-pool-thread.js', import.meta.url)), task: undefined };
    slot.worker.on('message', (message: { id: number; result?: XzJobResult; error?: WorkerError; ms?: number }) => {
      this.workMs += message.ms ?? 0;
      const task = slot.task;
      slot.task = undefined;
      if (task) this.settle(task, () => (message.error ? task.reject(workerError(message.error)) : task.resolve(message.result!)));
      this.dispatch();
    });
    const died = (err: unknown): void => {
      const index = this.slots.indexOf(slot);
      const task = slot.task;
      if (index < 0 || this.closed) return;
      this.replace(index);
      if (task) this.settle(task, () => task.reject(new InternalError('an xz worker thread died', { cause: err })));
    };
    slot.worker.on('error', died);
    slot.worker.on('exit', (code) => died(new Error(`exit code ${code}`)));
    return slot;
  }

  private settle(task: Task, finish: () => void): void {
    if (task.onAbort) task.signal!.removeEventListener('abort', task.onAbort);
    task.onAbort = undefined;
    finish();
  }
}

function workerError(error: WorkerError): Error {
  // A recipe the encoder refuses is the caller's mistake; anything else is the encoder's.
  if (error.code === 'INVALID_INPUT') return new InvalidInputError(error.message);
  return new InternalError(`xz worker: ${error.message}`);
}
