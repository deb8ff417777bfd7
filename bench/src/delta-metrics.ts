/** Samples of a Prometheus text exposition: `name` or `name{labels}` → value. */
export type MetricSamples = ReadonlyMap<string, number>;

/** GET <server>/metrics (outside auth) and its samples. */
export async function scrapeMetrics(serverUrl: string): Promise<MetricSamples> {
  const response = await fetch(new URL('/metrics', serverUrl));
  if (response.status !== 200) throw new Error(`GET ${serverUrl}/metrics: HTTP ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    if (space > 0) samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/** What the server did about deltas between two scrapes (its lxchunk_delta* counters' differences). */
export interface DeltaServerStats {
  /** Chunks sent as deltas (lxchunk_deltas_served_total). */
  readonly deltasServed: number;
  /** Their payload bytes (lxchunk_delta_bytes_served_total). */
  readonly deltaBytesServed: number;
  /** zstd runs (cache misses): lxchunk_deltas_computed_total. */
  readonly deltasComputed: number;
  /** Time those runs took on the server's event loop (lxchunk_delta_compute_seconds_total). */
  readonly computeSeconds: number;
  readonly cacheHits: number;
  readonly cacheMisses: number;
  /** Chunks asked for with bases that went plain, by reason (lxchunk_deltas_declined_total{reason}). */
  readonly declined: Readonly<Record<string, number>>;
}

const DECLINED = 'lxchunk_deltas_declined_total';

export function deltaStatsBetween(before: MetricSamples, after: MetricSamples): DeltaServerStats {
  const diff = (name: string) => (after.get(name) ?? 0) - (before.get(name) ?? 0);
  const declined: Record<string, number> = {};
  for (const name of after.keys()) {
    if (!name.startsWith(`${DECLINED}{`)) continue;
    const reason = /reason="([^"]*)"/.exec(name)?.[1] ?? name;
    const count = diff(name);
    if (count !== 0) declined[reason] = count;
  }
  return {
    deltasServed: diff('lxchunk_deltas_served_total'),
    deltaBytesServed: diff('lxchunk_delta_bytes_served_total'),
    deltasComputed: diff('lxchunk_deltas_computed_total'),
    computeSeconds: diff('lxchunk_delta_compute_seconds_total'),
    cacheHits: diff('lxchunk_delta_cache_hits_total'),
    cacheMisses: diff('lxchunk_delta_cache_misses_total'),
    declined,
  };
}

/** Server time per computed delta, in ms ("n/a" when none was computed). */
export function msPerComputedDelta(stats: DeltaServerStats): string {
  return stats.deltasComputed > 0 ? `${((stats.computeSeconds / stats.deltasComputed) * 1000).toFixed(2)} ms` : 'n/a';
}
