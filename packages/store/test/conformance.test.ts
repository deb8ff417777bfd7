import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeChunkStoreConformance, type StoreFixture } from '../src/conformance.js';
import { FsChunkStore, MemoryChunkStore, type MemoryChunkStoreOptions } from '../src/index.js';

// With fsync the writes are asynchronous and durable; without, synchronous page-cache copies: two write paths.
for (const fsync of [true, false]) {
  describeChunkStoreConformance(`FsChunkStore (fsync ${fsync ? 'on' : 'off'})`, async (): Promise<StoreFixture> => {
    const dir = await mkdtemp(join(tmpdir(), 'lxchunk-store-'));
    const store = await FsChunkStore.open({ dir, fsync });
    return {
      store,
      compresses: true,
      async corrupt(id) {
        const location = await store.locate(id);
        if (location === undefined) throw new Error(`cannot corrupt missing chunk ${id}`);
        await writeFile(location.path, flipLastByte(await readFile(location.path)));
      },
      cleanup: () => rm(dir, { recursive: true, force: true }),
    };
  });
}

/** Reaches the protected records to damage one, as a disk would. */
class TamperableMemoryStore extends MemoryChunkStore {
  corrupt(id: string): void {
    const record = this.records.get(id);
    if (record === undefined) throw new Error(`cannot corrupt missing chunk ${id}`);
    record.stored = flipLastByte(record.stored);
  }
}

for (const [label, options] of [
  ['MemoryChunkStore', {}],
  ['MemoryChunkStore (compressing)', { compressionLevel: 3 }],
] as [string, MemoryChunkStoreOptions][]) {
  describeChunkStoreConformance(label, async (): Promise<StoreFixture> => {
    const store = new TamperableMemoryStore(options);
    return {
      store,
      compresses: options.compressionLevel !== undefined,
      corrupt: async (id) => store.corrupt(id),
      cleanup: async () => undefined,
    };
  });
}

function flipLastByte(bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return Uint8Array.of(0);
  const copy = bytes.slice();
  copy[copy.length - 1] = (copy[copy.length - 1] ?? 0) ^ 0xff;
  return copy;
}

