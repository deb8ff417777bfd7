// Worker side of XzPool: runs one encoding or recipe search per message, in message order.
import { parentPort } from 'node:worker_threads';
import { encodeXzBlock } from './encode-xz-block.js';
import { findRecipe } from './find-recipe.js';
import { threadCpuMs } from './thread-cpu-time.js';
import type { WorkerError, XzJob, XzJobResult } from './xz-job.js';

const port = parentPort!;

port.on('message', ({ id, job }: { id: number; job: XzJob }) => {
  let result: XzJobResult;
  // The thread's own CPU clock where there is one: wall time also counts other processes' turns on this core.
  const cpuStarted = threadCpuMs();
  const started = performance.now();
  try {
    result = job.op === 'encode' ? { op: 'encode', bytes: encodeXzBlock(job.content, job.recipe) } : { op: 'find', recipe: findRecipe(job.compressed, job.content) };
  } catch (err) {
    const error: WorkerError = { code: (err as { code?: string }).code, message: (err as Error).message };
    port.postMessage({ id, error });
    return;
  }
  const cpuEnded = cpuStarted === undefined ? undefined : threadCpuMs();
  const ms = cpuEnded === undefined ? performance.now() - started : cpuEnded - cpuStarted!;
  port.postMessage({ id, result, ms }, result.op === 'encode' ? [result.bytes.buffer as ArrayBuffer] : []);
});
