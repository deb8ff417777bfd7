import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { mapSquashfs, squashfsSegments } from '@lxchunk/squashfs';

/**
 * What matching whole squashfs units fetches: the bytes of the wanted image's units (data and
 * fragment blocks, metadata blocks, other tables) that the held image does not contain byte for
 * byte, each distinct unit once, with no index. Anything less needs matches inside changed
 * compressed blocks: shared prefixes of large blocks, which CDC inside a unit can find, or the
 * short matches xdelta3 finds, which no chunk can pay for.
 */
export async function squashfsUnitBound(have: string, want: string): Promise<number> {
  const held = new Set<string>();
  for await (const unit of squashfsUnits(have)) held.add(unit.hash);
  const counted = new Set<string>();
  let missing = 0;
  for await (const unit of squashfsUnits(want)) {
    if (held.has(unit.hash) || counted.has(unit.hash)) continue;
    counted.add(unit.hash);
    missing += unit.length;
  }
  return missing;
}

async function* squashfsUnits(path: string): AsyncGenerator<{ hash: string; length: number }> {
  const lengths = squashfsSegments(await mapSquashfs(path));
  const file = await open(path, 'r');
  try {
    let offset = 0;
    for (const length of lengths) {
      const bytes = Buffer.alloc(length);
      await file.read(bytes, 0, length, offset);
      offset += length;
      yield { hash: createHash('sha256').update(bytes).digest('hex'), length };
    }
  } finally {
    await file.close();
  }
}
