import { MAX_DIRECTORY_RUN, MAX_NAME_LENGTH, METADATA_BLOCK_SIZE } from './limits.js';
import { i16, u16, u32 } from './little-endian.js';
import { malformed } from './malformed.js';
import type { MetadataTable } from './metadata-table.js';
import type { DirectoryInode, InodeRef } from './inode.js';

export interface DirectoryEntry {
  readonly name: string;
  readonly ref: InodeRef;
  readonly inodeNumber: number;
  /** The basic inode type (1..7) the entry claims; the inode itself must agree. */
  readonly type: number;
}

const HEADER_SIZE = 12;
const ENTRY_SIZE = 8;
const SLASH = 0x2f;
const names = new TextDecoder('utf-8');

/**
 * Reads a directory's listing from the directory table: runs of entries, each run behind a header
 * that gives the metadata block (in the inode table) and base inode number shared by its entries.
 * The listing's byte size comes from the directory inode; a run that overruns it, an entry with an
 * impossible name, or a name seen twice is corruption. Names are decoded as UTF-8 (invalid bytes
 * become U+FFFD): paths are for reports and range labels, not for extracting files. `onEntry` is called per entry so the
 * caller can enforce its entry budget before anything accumulates.
 */
export async function readDirectory(
  table: MetadataTable,
  dir: DirectoryInode,
  path: string,
  onEntry: (entry: DirectoryEntry) => void,
): Promise<void> {
  let left = dir.listingSize;
  if (left === 0) return;
  const at = `directory ${path || '/'}`;
  const position = table.region.start + dir.listingBlock;
  if (position >= table.region.end) throw malformed(`${at}: its listing points past the end of the directory table`);
  const cursor = table.cursor(position, dir.listingOffset);
  const seen = new Set<string>();
  while (left > 0) {
    if (left < HEADER_SIZE + ENTRY_SIZE + 1) throw malformed(`${at}: ${left} bytes left in the listing cannot hold a header and an entry`);
    const header = await cursor.bytes(HEADER_SIZE);
    left -= HEADER_SIZE;
    const count = u32(header, 0) + 1;
    const inodeBlock = u32(header, 4);
    const baseNumber = u32(header, 8);
    if (count > MAX_DIRECTORY_RUN) throw malformed(`${at}: a directory header claims ${count} entries (at most ${MAX_DIRECTORY_RUN})`);
    for (let i = 0; i < count; i++) {
      if (left < ENTRY_SIZE + 1) throw malformed(`${at}: the listing ends inside an entry`);
      const fields = await cursor.bytes(ENTRY_SIZE);
      const offset = u16(fields, 0);
      const inodeNumber = baseNumber + i16(fields, 2);
      const type = u16(fields, 4);
      const nameLength = u16(fields, 6) + 1;
      left -= ENTRY_SIZE;
      if (nameLength > MAX_NAME_LENGTH || nameLength > left) {
        throw malformed(`${at}: an entry's name of ${nameLength} bytes is too long or overruns the listing`);
      }
      const raw = await cursor.bytes(nameLength);
      left -= nameLength;
      const name = checkName(raw, at);
      if (offset >= METADATA_BLOCK_SIZE) throw malformed(`${at}/${name}: inode offset ${offset} is beyond a metadata block`);
      if (type < 1 || type > 7) throw malformed(`${at}/${name}: unknown entry type ${type}`);
      // Compare raw bytes: names that are not UTF-8 could decode to the same string.
      const key = String.fromCharCode(...raw);
      if (seen.has(key)) throw malformed(`${at}: the name ${JSON.stringify(name)} appears twice`);
      seen.add(key);
      onEntry({ name, ref: { block: inodeBlock, offset }, inodeNumber, type });
    }
  }
}

/** A name is one path component: no slash or NUL, not "." or ".." (squashfs stores neither). */
function checkName(raw: Uint8Array, at: string): string {
  if (raw.includes(SLASH) || raw.includes(0)) throw malformed(`${at}: an entry name contains "/" or NUL`);
  const name = names.decode(raw);
  if (name === '.' || name === '..') throw malformed(`${at}: an entry is named ${JSON.stringify(name)}`);
  return name;
}
