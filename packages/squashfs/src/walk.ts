import { InvalidInputError } from '@lxchunk/errors';
import { readDirectory, type DirectoryEntry } from './directory.js';
import type { FragmentTable } from './fragment-table.js';
import { describeRef, readInode, refKey, type BlockBudget, type FileInode, type Inode, type InodeRef } from './inode.js';
import { DATA_UNCOMPRESSED } from './limits.js';
import { malformed } from './malformed.js';
import type { MetadataTable } from './metadata-table.js';
import type { ByteRange, SquashfsBlock, SquashfsFile } from './squashfs-map.js';
import type { SquashfsSuperblock } from './superblock.js';

export interface WalkLimits {
  maxDepth: number;
  maxEntries: number;
  maxBlocks: number;
}

export interface WalkContext {
  sb: SquashfsSuperblock;
  inodes: MetadataTable;
  directories: MetadataTable;
  fragments: FragmentTable;
  /** The data area: where data and fragment blocks must lie. */
  dataStart: number;
  dataEnd: number;
  limits: WalkLimits;
}

export interface WalkResult {
  files: SquashfsFile[];
  /** One 'data' range per stored (non-sparse) block, once per inode (hard links share blocks). */
  dataRanges: ByteRange[];
}

/** What is known of an inode once seen: hard links to it must agree, and count no more than its links. */
interface Seen {
  readonly key: number;
  readonly linkCount: number;
  readonly basicType: number;
  visits: number;
  /** For a regular file: its map, shared by every path that links to it. */
  file?: Omit<SquashfsFile, 'path'>;
}

/**
 * Walks the tree from the root inode, depth first with an explicit stack (no recursion, whatever
 * the depth). Loops cannot run forever: a directory inode may be reached once only (a second
 * time means a cycle or a hard-linked directory, both corruption), any other inode no more often
 * than its link count, inode numbers must match their inodes, and entries, depth and blocks are
 * bounded by `limits`.
 */
export async function walkTree(ctx: WalkContext): Promise<WalkResult> {
  const { sb, limits } = ctx;
  const budget: BlockBudget = { remaining: limits.maxBlocks, limit: limits.maxBlocks };
  const seen = new Map<number, Seen>(); // by inode number
  const files: SquashfsFile[] = [];
  const dataRanges: ByteRange[] = [];
  let entries = 0;

  const rootRef: InodeRef = { block: Number(sb.rootInode >> 16n), offset: Number(sb.rootInode & 0xffffn) };
  const root = await readInode(ctx.inodes, rootRef, sb, budget);
  if (root.kind !== 'directory') throw malformed(`the root inode ${describeRef(rootRef)} is not a directory`);
  remember(seen, root, rootRef, sb);
  const stack: Array<{ inode: Inode; path: string; depth: number }> = [{ inode: root, path: '', depth: 0 }];

  while (stack.length > 0) {
    const { inode: dir, path, depth } = stack.pop()!;
    if (dir.kind !== 'directory') continue;
    const children: Array<{ entry: DirectoryEntry; path: string }> = [];
    await readDirectory(ctx.directories, dir, path, (entry) => {
      if (++entries > limits.maxEntries) throw new InvalidInputError(`squashfs image has more than ${limits.maxEntries} directory entries`);
      children.push({ entry, path: `${path}/${entry.name}` });
    });
    const subdirectories: Array<{ inode: Inode; path: string; depth: number }> = [];
    for (const { entry, path: childPath } of children) {
      const known = seen.get(entry.inodeNumber);
      if (known && known.key !== refKey(entry.ref)) {
        throw malformed(`${childPath}: inode number ${entry.inodeNumber} belongs to two different inodes`);
      }
      if (known) {
        // Another link to an inode already read: only files and other leaves can be hard-linked.
        if (entry.type === 1) throw malformed(`${childPath}: directory inode ${entry.inodeNumber} is reached twice (a cycle)`);
        if (entry.type !== known.basicType) {
          throw malformed(`${childPath}: the entry says type ${entry.type}, its inode ${entry.inodeNumber} has type ${known.basicType}`);
        }
        if (++known.visits > known.linkCount) {
          throw malformed(`${childPath}: inode ${entry.inodeNumber} is linked more often than its link count ${known.linkCount}`);
        }
        if (known.file) files.push({ path: childPath, ...known.file });
        continue;
      }
      const inode = await readInode(ctx.inodes, entry.ref, sb, budget);
      if (inode.basicType !== entry.type) {
        throw malformed(`${childPath}: the entry says type ${entry.type}, its inode ${describeRef(entry.ref)} has type ${inode.type}`);
      }
      if (inode.number !== entry.inodeNumber) {
        throw malformed(`${childPath}: the entry says inode number ${entry.inodeNumber}, its inode has ${inode.number}`);
      }
      const record = remember(seen, inode, entry.ref, sb);
      if (inode.kind === 'directory') {
        if (depth + 1 > limits.maxDepth) throw new InvalidInputError(`squashfs image nests directories deeper than ${limits.maxDepth} at ${childPath}`);
        subdirectories.push({ inode, path: childPath, depth: depth + 1 });
      } else if (inode.kind === 'file') {
        record.file = mapFile(ctx, inode, childPath, dataRanges);
        files.push({ path: childPath, ...record.file });
      }
    }
    // Reversed, so that the stack pops them in listing order.
    for (let i = subdirectories.length - 1; i >= 0; i--) stack.push(subdirectories[i]!);
  }
  return { files, dataRanges };
}

function remember(seen: Map<number, Seen>, inode: Inode, ref: InodeRef, sb: SquashfsSuperblock): Seen {
  if (seen.size >= sb.inodeCount) throw malformed(`the tree has more inodes than the ${sb.inodeCount} the superblock declares`);
  const linkCount = inode.kind === 'directory' ? 1 : inode.linkCount;
  const record: Seen = { key: refKey(ref), linkCount, basicType: inode.basicType, visits: 1 };
  seen.set(inode.number, record);
  return record;
}

/**
 * A file's blocks are stored back to back from blocks_start, each taking its on-disk size (0 for a
 * sparse block). Each must fit a block, lie in the data area, and a block stored uncompressed
 * must be exactly as long as the bytes it holds. The tail, if any, is in a fragment block.
 */
function mapFile(ctx: WalkContext, inode: FileInode, path: string, dataRanges: ByteRange[]): Omit<SquashfsFile, 'path'> {
  const { blockSize } = ctx.sb;
  const blocks: SquashfsBlock[] = new Array(inode.blockWords.length);
  let position = inode.blocksStart;
  for (let i = 0; i < inode.blockWords.length; i++) {
    const word = inode.blockWords[i]!;
    const length = word & (DATA_UNCOMPRESSED - 1);
    const stored = (word & DATA_UNCOMPRESSED) !== 0;
    if (word >>> 25 !== 0) throw malformed(`${path}: block ${i} has an invalid size word 0x${word.toString(16)}`);
    if (length > blockSize) throw malformed(`${path}: block ${i} is ${length} bytes on disk, more than the block size ${blockSize}`);
    const holds = Math.min(blockSize, inode.size - i * blockSize);
    if (stored && length !== 0 && length !== holds) {
      throw malformed(`${path}: block ${i} is stored uncompressed in ${length} bytes but holds ${holds}`);
    }
    // Sparse blocks too: their offset is reported, and mksquashfs keeps it in the data area.
    if (position < ctx.dataStart || position + length > ctx.dataEnd) {
      throw malformed(`${path}: block ${i} at ${position} (${length} bytes) lies outside the data area ${ctx.dataStart}..${ctx.dataEnd}`);
    }
    blocks[i] = { offset: position, length, compressed: length > 0 && !stored };
    if (length > 0) dataRanges.push({ offset: position, length, kind: 'data', file: path });
    position += length;
  }
  if (!inode.fragment) return { size: inode.size, blocks };
  const tail = inode.size - inode.blockWords.length * blockSize;
  const block = ctx.fragments.get(inode.fragment.index);
  const room = block.compressed ? blockSize : block.length;
  if (inode.fragment.offset + tail > room) {
    throw malformed(`${path}: its ${tail}-byte tail at offset ${inode.fragment.offset} overruns fragment ${inode.fragment.index} (${room} bytes)`);
  }
  return { size: inode.size, blocks, fragment: { index: inode.fragment.index, offset: inode.fragment.offset, size: tail } };
}
