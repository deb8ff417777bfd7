const MB = 1e6;

/** One measured run: its wall time and the CPU seconds of each process watched meanwhile. */
export interface Sample<Name extends string> {
  readonly seconds: number;
  readonly cpu: Readonly<Record<Name, number | undefined>>;
}

export interface SampleSummary<Name extends string> {
  readonly seconds: readonly number[];
  readonly medianSeconds: number;
  /** Payload bytes per median second, MB = 10^6. */
  readonly mbps: number;
  readonly chunksPerSecond: number;
  /**
   * Per process: CPU seconds over all runs ÷ wall seconds over all runs, i.e. how many cores it
   * kept busy. A single-threaded process near 1.0 is the limit.
   */
  readonly cores: Readonly<Record<Name, number | undefined>>;
  /** Per process: CPU µs per chunk over all runs. */
  readonly cpuUsPerChunk: Readonly<Record<Name, number | undefined>>;
}

/** The median run's throughput and each process's CPU, over runs that each moved `bytes` in `chunks` chunks. */
export function summarizeSamples<Name extends string>(samples: readonly Sample<Name>[], bytes: number, chunks: number): SampleSummary<Name> {
  if (samples.length === 0) throw new Error('no samples');
  const seconds = samples.map((s) => s.seconds);
  const medianSeconds = [...seconds].sort((a, b) => a - b)[Math.floor(seconds.length / 2)]!;
  const wall = seconds.reduce((sum, s) => sum + s, 0);
  const cores = {} as Record<Name, number | undefined>;
  const cpuUsPerChunk = {} as Record<Name, number | undefined>;
  for (const name of Object.keys(samples[0]!.cpu) as Name[]) {
    const values = samples.map((s) => s.cpu[name]);
    const total = values.some((v) => v === undefined) ? undefined : values.reduce<number>((sum, v) => sum + v!, 0);
    cores[name] = total === undefined ? undefined : total / wall;
    cpuUsPerChunk[name] = total === undefined ? undefined : (total * 1e6) / (chunks * samples.length);
  }
  return { seconds, medianSeconds, mbps: bytes / MB / medianSeconds, chunksPerSecond: chunks / medianSeconds, cores, cpuUsPerChunk };
}
