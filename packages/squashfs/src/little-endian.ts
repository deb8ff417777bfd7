import { malformed } from './malformed.js';

/**
 * Little-endian field readers over a byte array. Callers check lengths first; these still throw
 * `malformed` rather than read undefined bytes if a check was missed. Plain byte arithmetic, no
 * DataView per field: the walk reads a dozen fields for each of tens of thousands of inodes.
 */
function check(bytes: Uint8Array, offset: number, size: number, what: string): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + size > bytes.length) {
    throw malformed(`${what}: needs ${size} bytes at ${offset}, only ${bytes.length} available`);
  }
}

export function u16(bytes: Uint8Array, offset: number, what = 'field'): number {
  check(bytes, offset, 2, what);
  return bytes[offset]! | (bytes[offset + 1]! << 8);
}

export function i16(bytes: Uint8Array, offset: number, what = 'field'): number {
  return (u16(bytes, offset, what) << 16) >> 16;
}

export function u32(bytes: Uint8Array, offset: number, what = 'field'): number {
  check(bytes, offset, 4, what);
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

export function u64(bytes: Uint8Array, offset: number, what = 'field'): bigint {
  return (BigInt(u32(bytes, offset + 4, what)) << 32n) | BigInt(u32(bytes, offset, what));
}

/**
 * A u64 offset or size as a number. Offsets beyond 2^53 cannot address a real file, and keeping
 * them as numbers everywhere else avoids mixing bigint and number arithmetic.
 */
export function u64Number(bytes: Uint8Array, offset: number, what: string): number {
  const high = u32(bytes, offset + 4, what);
  const low = u32(bytes, offset, what);
  if (high >= 2 ** 21) throw malformed(`${what} is ${(BigInt(high) << 32n) | BigInt(low)}, beyond any real file size`);
  return high * 2 ** 32 + low;
}
