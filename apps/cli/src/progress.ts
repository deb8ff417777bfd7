import cliProgress from 'cli-progress';
import { formatBytes } from './format-bytes.js';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/**
 * A byte progress bar on stderr, only when stderr is a terminal: stdout stays machine-readable
 * and logs of CI jobs stay free of carriage-return noise.
 */
export function byteProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  return progressBar(label, total, (n) => formatBytes(n), stream);
}

/** The same bar for a number of things (chunks), as `done/total` and a rate per second. */
export function countProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  return progressBar(label, total, (n) => String(Math.round(n)), stream);
}

function progressBar(label: string, total: number, format: (amount: number) => string, stream: NodeJS.WriteStream): Progress {
  if (!stream.isTTY || total === 0) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {percentage}% {doneAmount}/{totalAmount} {rate}/s ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  const fields = (done: number) => ({
    doneAmount: format(done),
    totalAmount: format(total),
    rate: format(done / Math.max((performance.now() - started) / 1000, 0.001)),
  });
  bar.start(total, 0, fields(0));
  return {
    update: (done) => bar.update(done, fields(done)),
    stop: () => bar.stop(),
  };
}

/** One bar per phase of a long operation (scan, upload, fetch, assemble), each replacing the last. */
export function phaseProgress(stream: NodeJS.WriteStream = process.stderr): {
  listener: (event: { phase: string; done: number; total: number }) => void;
  stop(): void;
} {
  let phase: string | undefined;
  let bar: Progress | undefined;
  return {
    listener: (event) => {
      if (event.phase !== phase) {
        bar?.stop();
        phase = event.phase;
        bar = byteProgress(event.phase.padEnd(8), event.total, stream);
      }
      bar?.update(event.done);
    },
    stop: () => bar?.stop(),
  };
}
