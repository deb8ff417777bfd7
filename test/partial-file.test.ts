import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InlineSha256, chunkStream } from '@lxchunk/chunker';
import { chunkOffsets, type ChunkIndex } from '@lxchunk/format';
import { PartialFile } from '@lxchunk/sync';
import { SMALL_PARAMS, seeded } from './helpers/image-fixture.js';

describe('PartialFile (real files)', () => {
  let dir: string;
  let data: Uint8Array;
  let index: ChunkIndex;
  const chunkAt = (position: number) => {
    const offset = chunkOffsets(index)[position]!;
    return data.subarray(offset, offset + index.chunks[position]!.length);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lxchunk-partial-'));
    // Random bytes with a run of zeros: a zero chunk in a hole is right by accident, and may count as done.
    data = new Uint8Array(300_000);
    data.set(seeded(150_000, 5), 0);
    data.set(seeded(100_000, 6), 200_000);
    index = await chunkStream(Readable.from([data]), { params: SMALL_PARAMS });
    assert.ok(index.chunks.length > 40);
    assert.ok(index.chunks.some((_, position) => chunkAt(position).every((byte) => byte === 0)), 'the zero run makes zero chunks');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('assembles the exact file from writes in any order, from concurrent writers', async () => {
    const path = join(dir, 'shuffled');
    const file = await PartialFile.open(path, index);
    const positions = index.chunks.map((_, position) => position);
    // Two interleaved writers in a fixed pseudo-random order, as two fetch batches would be.
    positions.sort((a, b) => ((a * 7919) % 97) - ((b * 7919) % 97));
    const half = Math.ceil(positions.length / 2);
    const writer = async (mine: number[]) => {
      for (const position of mine) await file.write(position, chunkAt(position));
    };
    await Promise.all([writer(positions.slice(0, half)), writer(positions.slice(half))]);
    assert.ok(file.complete);
    const sha = new InlineSha256();
    const handle = sha.create();
    await file.fill(async () => assert.fail('every position is written already'), sha, [handle]);
    assert.equal(await sha.digest(handle), index.sha256);
    await file.close();
    assert.ok(Buffer.from(await readFile(path)).equals(data));
  });

  it('concurrent reads each see every write made before them (one read flushing does not let another read stale bytes)', async () => {
    // As the content rebuild does: the last content chunks are still gathered in memory when
    // several blocks' reads start at once. Each read must wait for the flush another one began.
    for (let attempt = 0; attempt < 20; attempt++) {
      const path = join(dir, `concurrent-${attempt}`);
      const file = await PartialFile.open(path, index);
      for (let position = 0; position < index.chunks.length; position++) await file.write(position, chunkAt(position));
      const reads = await Promise.all([0, 1, 2, 3].map(() => file.read(0, data.length)));
      for (const bytes of reads) assert.ok(Buffer.from(bytes).equals(data), `attempt ${attempt}: a read saw bytes not yet written`);
      await file.close();
    }
  });

  it('reopened, keeps only the ranges that still match their ids, and trims what is too long', async () => {
    const path = join(dir, 'resumed');
    const first = await PartialFile.open(path, index);
    const written = index.chunks.map((_, position) => position).filter((position) => position % 3 === 0);
    for (const position of written) await first.write(position, chunkAt(position));
    await first.close(); // an interrupted pull: no sync, no rename
    // Damage one written range, and leave stray bytes past the end.
    const damaged = written[2]!;
    const bytes = Buffer.from(await readFile(path));
    const damagedOffset = chunkOffsets(index)[damaged]!;
    bytes[damagedOffset + 10] = bytes[damagedOffset + 10]! ^ 0x01;
    await writeFile(path, Buffer.concat([bytes, Buffer.from('stray tail')]));

    const again = await PartialFile.open(path, index);
    assert.equal((await stat(path)).size, index.size, 'trimmed to the index size');
    for (const position of index.chunks.keys()) {
      const zero = chunkAt(position).every((byte) => byte === 0);
      const expected = (written.includes(position) && position !== damaged) || zero;
      assert.equal(again.isDone(position), expected, `position ${position}`);
    }
    assert.ok(!again.isDone(damaged), 'a damaged range is never trusted');
    assert.deepEqual(
      again.doneRanges().map((range) => range.id),
      index.chunks.filter((_, position) => again.isDone(position)).map((chunk) => chunk.id),
    );
    // The fill pass supplies exactly the positions not kept, and hashes the file as it is on disk.
    const filled: number[] = [];
    const sha = new InlineSha256();
    const handle = sha.create();
    await again.fill(async (position) => (filled.push(position), chunkAt(position)), sha, [handle]);
    assert.deepEqual(filled, [...index.chunks.keys()].filter((position) => !((written.includes(position) && position !== damaged) || chunkAt(position).every((byte) => byte === 0))));
    assert.equal(await sha.digest(handle), index.sha256);
    await again.sync();
    await again.close();
    assert.equal(createHash('sha256').update(await readFile(path)).digest('hex'), index.sha256);
  });

  it('reports a file-system failure as IO_ERROR naming the file', async () => {
    const path = join(dir, 'no-such-dir', 'rootfs.partial');
    await assert.rejects(PartialFile.open(path, index), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'IO_ERROR');
      assert.match(err.message, /no-such-dir/);
      return true;
    });
  });
});
