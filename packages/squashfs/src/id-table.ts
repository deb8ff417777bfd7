import type { IndexedTable } from './indexed-table.js';
import { ID_ENTRY_SIZE } from './superblock.js';

/**
 * The id table maps the uid/gid indexes of inodes to ids. The byte map needs no ids, but decoding
 * the table proves its blocks are sound, so a corrupt id table is reported here rather than by
 * whoever mounts the image later.
 */
export async function readIdTable(table: IndexedTable, count: number): Promise<Uint32Array> {
  const ids = new Uint32Array(count);
  await table.forEachBlock(count, ID_ENTRY_SIZE, (data, first) => {
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    for (let at = 0; at < data.length; at += ID_ENTRY_SIZE) ids[first + at / ID_ENTRY_SIZE] = view.getUint32(at, true);
  });
  return ids;
}
