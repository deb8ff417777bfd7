import { execFile } from 'node:child_process';
import { link, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { below, bytesFrom, xorshift32 } from '@lxchunk/chunker/testing';

const run = promisify(execFile);

/** distrobuilder's options (../../shared/FACTS.md), the image kind lxchunk ships most. */
export const DISTROBUILDER = ['-noappend', '-b', '1M', '-no-exports', '-no-progress', '-no-recovery', '-comp', 'xz'];

const MiB = 1024 * 1024;

/** Compressible text from the generator: words from a small vocabulary. */
export function wordText(next: () => number, n: number): Uint8Array {
  const words = ['squashfs', 'chunk', 'block', 'fragment', 'inode', 'lxd', 'image', 'debian', 'bookworm', 'the', 'a', '\n'];
  let s = '';
  while (s.length < n) s += words[below(next, words.length)]! + ' ';
  return new TextEncoder().encode(s.slice(0, n));
}

export interface TreeInfo {
  /** Whether user xattrs could be set (python3 and a file system that takes them). */
  xattrs: boolean;
  /** Whether a character device could be made (needs root). */
  device: boolean;
}

/**
 * A tree with every shape the map must handle: small files (fragments), multi-block files with
 * and without a tail, incompressible data (blocks stored uncompressed), all-zero and holey files
 * (sparse blocks), empty files and directories, symlinks, hard links, duplicate files (stored
 * once), deep nesting, a directory of 300 entries (several directory headers, listings spanning
 * metadata blocks), long and non-ASCII names, a fifo, and when possible a device and xattrs.
 */
export async function writeTree(root: string, seed = 1): Promise<TreeInfo> {
  const next = xorshift32(seed);
  const file = async (path: string, bytes: Uint8Array): Promise<void> => {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), bytes);
  };
  for (let i = 0; i < 40; i++) await file(`small/f${String(i).padStart(3, '0')}`, wordText(next, 1 + below(next, 5000)));
  await file('small/empty', new Uint8Array(0));
  await file('big/text.txt', wordText(next, 2 * MiB + 123_457));
  const random = bytesFrom(next, MiB + 200_000);
  await file('big/random.bin', random);
  await file('big/exact-1m.txt', wordText(next, MiB));
  await file('big/exact-8k.txt', wordText(next, 8192));
  await file('sparse/zeros.bin', new Uint8Array(3 * MiB));
  const holes = new Uint8Array(2 * MiB + 300_000);
  holes.set(wordText(next, 70_000), MiB + 100_000);
  await file('sparse/holes.bin', holes);
  await file('dup/random-copy.bin', random);
  await file('dup/small-copy', await readFile(join(root, 'small/f002')));
  await file('deep/a/b/c/d/e/f/g/leaf.txt', wordText(next, 100));
  for (let i = 0; i < 300; i++) await file(`many/n${String(i).padStart(3, '0')}`, wordText(next, below(next, 40)));
  await file(`names/${'L'.repeat(255)}`, wordText(next, 10));
  await file('names/ünïcødé ✓.txt', wordText(next, 20));
  await mkdir(join(root, 'empty-dir'), { recursive: true });
  await mkdir(join(root, 'links'), { recursive: true });
  await symlink('../small/f000', join(root, 'links/sym'));
  await symlink('/nowhere/at/all', join(root, 'links/dangling'));
  await link(join(root, 'small/f001'), join(root, 'links/hard'));
  await link(join(root, 'big/text.txt'), join(root, 'links/hard-big'));
  await run('mkfifo', [join(root, 'links/fifo')]);
  const device = await run('mknod', [join(root, 'links/null'), 'c', '1', '3']).then(
    () => true,
    () => false,
  );
  const xattrs = await run('python3', [
    '-c',
    'import os,sys; r=sys.argv[1]; os.setxattr(r+"/small/f003","user.lxchunk",b"x"*40); os.setxattr(r+"/big","user.other",b"y"*300); os.setxattr(r+"/big/random.bin","user.lxchunk",b"x"*40)',
    root,
  ]).then(
    () => true,
    () => false,
  );
  return { xattrs, device };
}

/** Fixed times make the images reproducible, and `unsquashfs -s`'s date checkable. */
export const MKFS_TIME = 1_700_000_000;

export async function mksquashfs(tree: string, out: string, options: readonly string[]): Promise<void> {
  const fixed = ['-noappend', '-no-progress', '-quiet', '-all-time', String(MKFS_TIME), '-mkfs-time', String(MKFS_TIME)];
  await run('mksquashfs', [tree, out, ...fixed, ...options.filter((o) => !fixed.includes(o))], { maxBuffer: 16 * MiB });
}

export interface ListedEntry {
  type: string;
  size: number;
}

/** `unsquashfs -lls`: every path with its type letter and size, the reference for the file list. */
export async function unsquashfsList(image: string): Promise<Map<string, ListedEntry>> {
  const { stdout } = await run('unsquashfs', ['-lls', '-d', '', image], { env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 * MiB });
  const entries = new Map<string, ListedEntry>();
  for (const line of stdout.split('\n')) {
    // mode owner/group size-or-major,minor date time path[ -> target]
    const match = /^(\S)\S{9} \S+\s+(\d+|\d+,\s*\d+) \d{4}-\d\d-\d\d \d\d:\d\d (.*)$/.exec(line);
    if (!match) continue;
    const [, type, size, rest] = match as unknown as [string, string, string, string];
    const path = type === 'l' ? rest.slice(0, rest.lastIndexOf(' -> ')) : rest;
    entries.set(path === '' ? '/' : path, { type, size: type === 'c' || type === 'b' ? 0 : Number(size) });
  }
  return entries;
}

/** `unsquashfs -s` as "key → value" lines, the reference for the superblock fields. */
export async function unsquashfsSuperblock(image: string): Promise<string> {
  const { stdout } = await run('unsquashfs', ['-s', image], { env: { ...process.env, TZ: 'UTC' } });
  return stdout;
}

/** C's ctime() format in UTC, as `unsquashfs -s` prints the creation time. */
export function ctimeUtc(seconds: number): string {
  const date = new Date(seconds * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${days[date.getUTCDay()]} ${months[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} ${date.getUTCFullYear()}`;
}
