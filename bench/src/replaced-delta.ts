/**
 * What a host would receive if each missing chunk came as a zstd delta against the chunks it
 * replaced, instead of whole: the measurement behind the next step past squashfs-aware chunking.
 *
 * Both images are cut the squashfs way (default parameters). The new image's chunks the old one
 * lacks form runs between chunks both share; each run's counterpart in the old image (between the
 * same two shared chunks) is the dictionary, as a client could name it from the two indexes it
 * holds. Each missing chunk is counted once, as the smaller of itself, zstd alone, and zstd
 * against that dictionary (capped at --cap MiB), at each level asked; xdelta3 -e -9 of the whole
 * images is printed beside it. Index and manifest bytes are not included.
 *
 * Run: node bench/dist/replaced-delta.js [--levels 3,19] [--cap 4] [--json] OLD.squashfs NEW.squashfs
 */
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultParamsFor } from '@lxchunk/chunker';
import { chunkOffsets, compressZstdFrame } from '@lxchunk/format';
import { chunkImageFile } from '@lxchunk/sync';
import { benchArgs } from './bench-args.js';
import { run } from './exec.js';
import { formatBytes } from './units.js';

interface Cut {
  readonly id: string;
  readonly offset: number;
  readonly length: number;
}

async function squashfsChunks(path: string): Promise<Cut[]> {
  const chunked = await chunkImageFile(path, { method: 'squashfs', params: defaultParamsFor('squashfs') });
  const offsets = chunkOffsets(chunked);
  return chunked.chunks.map(({ id, length }, position) => ({ id, offset: offsets[position]!, length }));
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: benchArgs(),
    allowPositionals: true,
    options: { levels: { type: 'string', default: '3,19' }, cap: { type: 'string', default: '4' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 2) throw new Error('usage: node bench/dist/replaced-delta.js [--levels 3,19] [--cap MiB] [--json] OLD NEW');
  const [oldPath, newPath] = positionals as [string, string];
  const levels = values.levels.split(',').map(Number);
  const cap = Number(values.cap) * 1024 * 1024;
  const [oldCuts, newCuts, oldBytes, newBytes] = await Promise.all([squashfsChunks(oldPath), squashfsChunks(newPath), readFile(oldPath), readFile(newPath)]);
  const oldIndex = new Map<string, number>();
  oldCuts.forEach((cut, position) => oldIndex.has(cut.id) || oldIndex.set(cut.id, position));

  const counted = new Set<string>();
  let whole = 0;
  const alone = new Map(levels.map((level) => [level, 0]));
  const againstReplaced = new Map(levels.map((level) => [level, 0]));
  for (let start = 0; start < newCuts.length; ) {
    if (oldIndex.has(newCuts[start]!.id)) {
      start++;
      continue;
    }
    let end = start;
    while (end < newCuts.length && !oldIndex.has(newCuts[end]!.id)) end++;
    const before = start > 0 ? oldIndex.get(newCuts[start - 1]!.id)! : -1;
    const after = end < newCuts.length ? oldIndex.get(newCuts[end]!.id)! : oldCuts.length;
    let dictionary: Uint8Array | undefined;
    if (after > before + 1) {
      const from = oldCuts[before + 1]!.offset;
      const last = oldCuts[after - 1]!;
      dictionary = oldBytes.subarray(from, Math.min(last.offset + last.length, from + cap));
    }
    for (const cut of newCuts.slice(start, end)) {
      if (counted.has(cut.id)) continue;
      counted.add(cut.id);
      const bytes = newBytes.subarray(cut.offset, cut.offset + cut.length);
      whole += bytes.length;
      for (const level of levels) {
        const plain = Math.min(bytes.length, compressZstdFrame(bytes, { level }).length);
        alone.set(level, alone.get(level)! + plain);
        const delta = dictionary ? compressZstdFrame(bytes, { level, dictionary }).length : Infinity;
        againstReplaced.set(level, againstReplaced.get(level)! + Math.min(plain, delta));
      }
    }
    start = end;
  }
  const deltaPath = join(tmpdir(), `replaced-delta-${process.pid}.vcdiff`);
  await run('xdelta3', ['-e', '-9', '-f', '-s', oldPath, newPath, deltaPath]);
  const xdelta = (await stat(deltaPath)).size;
  await rm(deltaPath, { force: true });

  const result = {
    newImageBytes: newBytes.length,
    missingChunks: counted.size,
    missingBytes: whole,
    xdelta3: xdelta,
    levels: levels.map((level) => ({ level, zstdAlone: alone.get(level)!, againstReplaced: againstReplaced.get(level)! })),
  };
  if (values.json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`${newPath}: ${formatBytes(newBytes.length)}; xdelta3 -e -9 from ${oldPath}: ${formatBytes(xdelta)}`);
  console.log(`missing chunks: ${counted.size}, ${formatBytes(whole)} whole (${(whole / xdelta).toFixed(2)}× xdelta3)`);
  for (const { level, zstdAlone, againstReplaced: delta } of result.levels) {
    console.log(`zstd -${level}: alone ${formatBytes(zstdAlone)} (${(zstdAlone / xdelta).toFixed(2)}×), against the replaced chunks ${formatBytes(delta)} (${(delta / xdelta).toFixed(2)}× xdelta3)`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
