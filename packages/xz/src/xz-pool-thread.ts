// Worker side of XzPool: runs one encoding or recipe search per message, in message order.
import { parentPort } from 'node:worker_threads';
import { encodeXzBlock } from './encode-xz-block.js';
import { findRecipe } from './find-recipe.js';
import type { WorkerError, XzJob, XzJobResult } from './xz-job.js';

const port = parentPort!;

port.on('message', ({ id, job }: { id: number; job: XzJob }) => {
  let result: XzJobResult;
  // One job runs on this thread alone, start to end: its wall time is its CPU time.
  const started = performance.now();
  try {
    result = job.op === 'encode' ? { op: 'encode', bytes: encodeXzBlock(job.content, job.recipe) } : { op: 'find', recipe: findRecipe(job.compressed, job.content) };
  } catch (err) {
    const error: WorkerError = { code: (err as { code?: string }).code, message: (err as Error).message };
    port.postMessage({ id, error });
    return;
  }
  port.postMessage({ id, result, ms: performance.now() - started }, result.op === 'encode' ? [result.bytes.buffer as ArrayBuffer] : []);
});
