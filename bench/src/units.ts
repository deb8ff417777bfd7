import type { ChunkParams } from '@lxchunk/chunker';

export const KiB = 1024;

/** Binary units, three significant digits: "812 KiB", "73.4 MiB", and round sizes bare: "4 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const digits = unit === 0 || value >= 100 || Number.isInteger(value) ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit] ?? ''}`;
}

/** Small shares keep two decimals: the rebuild pair lives below 1%. */
export function formatPercent(fraction: number): string {
  const percent = fraction * 100;
  return `${percent.toFixed(percent < 10 ? 2 : 1)}%`;
}

export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

/** "16/64/256" (KiB) */
export function paramsLabel(params: ChunkParams): string {
  const kib = (bytes: number): string => String(Math.round((bytes / KiB) * 100) / 100);
  return `${kib(params.min)}/${kib(params.avg)}/${kib(params.max)}`;
}
