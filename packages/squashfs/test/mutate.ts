import { below, bytesFrom, xorshift32 } from '@lxchunk/chunker/testing';
import { parseSuperblock } from '../src/index.js';

/** Values that sit on the edges parsers get wrong: zero, sign bits, all ones, just past a limit. */
const INTERESTING = [0n, 1n, 2n, 3n, 0x7fn, 0x80n, 0xffn, 0x1000n, 0x2000n, 0x7fffn, 0x8000n, 0xffffn, 0x1_0000n, 0x100_0000n, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn, 0xffff_ffff_ffff_ffffn, 1n << 53n];

export interface Mutation {
  bytes: Uint8Array;
  /** What was done, for the failure message. */
  description: string;
}

/**
 * One seeded mutation of a valid image: bit flips in the superblock or the tables, a truncation,
 * random bytes or edge values written over table fields, or a few of these at once. The same
 * image and seed always give the same mutation.
 */
export function mutate(image: Uint8Array, seed: number): Mutation {
  const next = xorshift32(seed);
  const sb = parseSuperblock(image);
  const tables = { start: sb.inodeTableStart, end: sb.bytesUsed };
  let bytes = image.slice();
  const done: string[] = [];
  const rounds = below(next, 4) === 0 ? 2 + below(next, 2) : 1;
  for (let round = 0; round < rounds; round++) {
    const inTables = (): number => tables.start + below(next, Math.max(1, Math.min(tables.end, bytes.length) - tables.start));
    const anywhere = (): number => below(next, bytes.length);
    switch (below(next, 7)) {
      case 0: {
        const flips = 1 + below(next, 3);
        for (let i = 0; i < flips; i++) {
          const at = below(next, 96);
          const bit = below(next, 8);
          bytes[at]! ^= 1 << bit;
          done.push(`flip superblock byte ${at} bit ${bit}`);
        }
        break;
      }
      case 1: {
        const flips = 1 + below(next, 4);
        for (let i = 0; i < flips; i++) {
          const at = inTables();
          const bit = below(next, 8);
          if (at < bytes.length) bytes[at]! ^= 1 << bit;
          done.push(`flip table byte ${at} bit ${bit}`);
        }
        break;
      }
      case 2: {
        const length = below(next, bytes.length);
        bytes = bytes.slice(0, length);
        done.push(`truncate to ${length}`);
        break;
      }
      case 3: {
        const at = inTables();
        const random = bytesFrom(next, 1 + below(next, 16));
        const n = Math.min(random.length, bytes.length - at);
        if (n > 0) bytes.set(random.subarray(0, n), at);
        done.push(`random ${n} bytes at ${at}`);
        break;
      }
      case 4: {
        const width = [2, 4, 8][below(next, 3)]!;
        const at = below(next, 2) === 0 ? below(next, 96 - width) : inTables();
        const value = INTERESTING[below(next, INTERESTING.length)]!;
        for (let i = 0; i < width && at + i < bytes.length; i++) bytes[at + i] = Number((value >> BigInt(8 * i)) & 0xffn);
        done.push(`u${width * 8} ${value} at ${at}`);
        break;
      }
      case 5: {
        const at = anywhere();
        const bit = below(next, 8);
        bytes[at]! ^= 1 << bit;
        done.push(`flip byte ${at} bit ${bit}`);
        break;
      }
      default: {
        // Off-by-a-little in a superblock table offset or count: the kind of damage a buggy writer does.
        const fields = [4, 16, 26, 40, 48, 56, 64, 72, 80, 88];
        const at = fields[below(next, fields.length)]!;
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        if (bytes.length >= 96) {
          const delta = below(next, 33) - 16;
          if (at === 26) view.setUint16(at, (view.getUint16(at, true) + delta) & 0xffff, true);
          else if (at < 40) view.setUint32(at, (view.getUint32(at, true) + delta) >>> 0, true);
          else view.setBigUint64(at, BigInt.asUintN(64, view.getBigUint64(at, true) + BigInt(delta)), true);
          done.push(`superblock field ${at} += ${delta}`);
        }
      }
    }
  }
  return { bytes, description: done.join('; ') };
}
