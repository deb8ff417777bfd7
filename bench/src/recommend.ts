import { sameParams, type ChunkParams } from '@lxchunk/chunker';
import type { TransferCost } from './transfer-cost.js';
import { formatBytes, formatCount, formatPercent, paramsLabel } from './units.js';

/** One image pair (in one squashfs profile) chunked with one set of parameters. */
export interface PairMeasurement {
  readonly params: ChunkParams;
  readonly profile: string;
  readonly pair: string;
  readonly cost: TransferCost;
}

/**
 * What handling one fetched chunk costs beyond its bytes, in bytes of transfer it is worth.
 * Smaller chunks find more shared bytes, but every chunk is one more object to look up, read,
 * frame, verify and (behind S3 or a CDN) pay a request for: at list prices one S3 GET ($0.0004
 * per 1,000) costs as much as ~4.3 KiB of egress ($0.09/GB), and 4 KiB is ~30 µs of a 1 Gbit/s
 * link, about what a server spends per chunk in a batched response. The index entry (36 bytes per
 * chunk) is counted separately, as real bytes.
 */
export const PER_CHUNK_OVERHEAD_BYTES = 4096;

/**
 * Grid points whose effective cost is within this of the cheapest count as a tie, and a tie goes
 * to the larger average (fewer objects to store and index). Day-to-day variation of which
 * packages a nightly updates is larger than this.
 */
export const TIE_TOLERANCE = 0.02;

/** The overheads the sensitivity line tries, to show how much the choice hinges on the one above. */
export const SENSITIVITY_OVERHEADS: readonly number[] = [0, 1024, 4096, 16384];

/** One grid point over every pair and profile. */
export interface GridSummary {
  readonly params: ChunkParams;
  /** Mean over all pairs and profiles of (bytes fetched incl. index / size of the new image). */
  readonly meanFetchedShare: number;
  readonly meanFetchedShareByProfile: Readonly<Record<string, number>>;
  /** As meanFetchedShare, with PER_CHUNK_OVERHEAD_BYTES added per fetched chunk. */
  readonly meanEffectiveShare: number;
  /** Mean entries per new image's index: each is 36 bytes of index and an object in the store. */
  readonly meanChunks: number;
  /** Mean chunks fetched per upgrade: the entries of (batched) fetch requests. */
  readonly meanFetchedChunks: number;
}

export interface Recommendation {
  readonly params: ChunkParams;
  readonly perChunkOverheadBytes: number;
  /** For each overhead in SENSITIVITY_OVERHEADS: the average size the same rule would pick. */
  readonly sensitivity: readonly { readonly perChunkOverheadBytes: number; readonly params: ChunkParams }[];
  readonly reason: string;
}

const mean = (values: readonly number[]): number => values.reduce((sum, v) => sum + v, 0) / Math.max(values.length, 1);

function effectiveShare(measurements: readonly PairMeasurement[], perChunkOverhead: number): number {
  return mean(measurements.map(({ cost }) => (cost.totalBytes + perChunkOverhead * cost.fetchedChunks) / cost.newSize));
}

function gridOf(measurements: readonly PairMeasurement[]): ChunkParams[] {
  const grid: ChunkParams[] = [];
  for (const m of measurements) if (!grid.some((p) => sameParams(p, m.params))) grid.push(m.params);
  return grid;
}

/** Summaries in the order the parameters first appear in `measurements`. */
export function summarize(measurements: readonly PairMeasurement[]): GridSummary[] {
  return gridOf(measurements).map((params) => {
    const here = measurements.filter((m) => sameParams(m.params, params));
    const profiles = [...new Set(here.map((m) => m.profile))];
    return {
      params,
      meanFetchedShare: effectiveShare(here, 0),
      meanFetchedShareByProfile: Object.fromEntries(profiles.map((p) => [p, effectiveShare(here.filter((m) => m.profile === p), 0)])),
      meanEffectiveShare: effectiveShare(here, PER_CHUNK_OVERHEAD_BYTES),
      meanChunks: mean(here.map((m) => m.cost.newChunks)),
      meanFetchedChunks: mean(here.map((m) => m.cost.fetchedChunks)),
    };
  });
}

/** The rule: cheapest effective cost, ties (within TIE_TOLERANCE) going to the larger average. */
function choose(measurements: readonly PairMeasurement[], perChunkOverhead: number): { params: ChunkParams; cheapest: ChunkParams } {
  const scored = gridOf(measurements).map((params) => ({
    params,
    share: effectiveShare(measurements.filter((m) => sameParams(m.params, params)), perChunkOverhead),
  }));
  const [first] = scored;
  if (first === undefined) throw new Error('no measurements to recommend from');
  const cheapest = scored.reduce((a, b) => (b.share < a.share ? b : a), first);
  const chosen = scored
    .filter((s) => s.share <= cheapest.share * (1 + TIE_TOLERANCE))
    .reduce((a, b) => (b.params.avg > a.params.avg ? b : a), cheapest);
  return { params: chosen.params, cheapest: cheapest.params };
}

export function recommend(measurements: readonly PairMeasurement[]): Recommendation {
  const summaries = summarize(measurements);
  const { params, cheapest } = choose(measurements, PER_CHUNK_OVERHEAD_BYTES);
  const find = (p: ChunkParams): GridSummary => {
    const found = summaries.find((s) => sameParams(s.params, p));
    if (found === undefined) throw new Error(`no summary for ${paramsLabel(p)}`);
    return found;
  };
  const chosen = find(params);
  const byteOptimal = summaries.reduce((a, b) => (b.meanFetchedShare < a.meanFetchedShare ? b : a), chosen);
  const sensitivity = SENSITIVITY_OVERHEADS.map((overhead) => ({
    perChunkOverheadBytes: overhead,
    params: choose(measurements, overhead).params,
  }));

  const parts = [
    `min/avg/max = ${paramsLabel(params)} KiB`,
    `it fetches ${formatPercent(chosen.meanFetchedShare)} of the new image on average (index included) with ` +
      `${formatCount(chosen.meanChunks)} chunks per image and ${formatCount(chosen.meanFetchedChunks)} fetched per upgrade`,
  ];
  if (!sameParams(byteOptimal.params, params)) {
    parts.push(
      `counting bytes alone ${paramsLabel(byteOptimal.params)} KiB is cheapest (${formatPercent(byteOptimal.meanFetchedShare)}) ` +
        `but needs ${(byteOptimal.meanChunks / chosen.meanChunks).toFixed(1)}x the chunks`,
    );
  }
  parts.push(
    `with ${formatBytes(PER_CHUNK_OVERHEAD_BYTES)} of overhead per fetched chunk it is ` +
      (sameParams(cheapest, params)
        ? 'the cheapest grid point'
        : `within ${TIE_TOLERANCE * 100}% of the cheapest (${paramsLabel(cheapest)} KiB), and larger chunks win ties`),
  );
  parts.push(
    `the same rule picks ${sensitivity
      .map((s) => `${paramsLabel(s.params)} at ${formatBytes(s.perChunkOverheadBytes)}/chunk`)
      .join(', ')}`,
  );
  return { params, perChunkOverheadBytes: PER_CHUNK_OVERHEAD_BYTES, sensitivity, reason: parts.join('; ') };
}
