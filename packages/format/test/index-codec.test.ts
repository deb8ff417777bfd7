import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { xorshift32 } from '@lxchunk/chunker/testing';
import { InvalidParamsError, MalformedIndexError } from '@lxchunk/errors';
import { decodeIndex, encodeIndex, encodedIndexLength, type ChunkIndex } from '../src/index.js';
import { GOLDEN_INDEX, PARAMS, SMALL_PARAMS, assertFails, between, hex, randomIndex, reseal } from './fixtures.js';

/**
 * GOLDEN_INDEX encoded, field by field as documented in src/index-codec.ts. Checked by hand (the
 * trailer with `sha256sum` over the first 136 bytes). If this test fails, the format changed:
 * that needs a new version number, not a new pinned value.
 */
const GOLDEN_HEX = [
  '4c584349', // "LXCI"
  '0100', // version 1
  '0000', // flags
  '00400000', // min 16384
  '00000100', // avg 65536
  '00000400', // max 262144
  'b80b000000000000', // size 3000
  'cc'.repeat(32), // file sha256
  '02000000', // 2 entries
  'aa'.repeat(32),
  'e8030000', // 1000
  'bb'.repeat(32),
  'd0070000', // 2000
  '7ac665a6f3ea1a172c9f4fc09d9abcea7f3a30300b6873228c0621b6f5552059', // sha256 of all the above
].join('');

/** The trailer of GOLDEN_HEX with flags 0x0001 (checked with sha256sum). */
const SQUASHFS_TRAILER = '904699f5d72e730a0b3cbdb62cc42237e783f7dc70a9aa86c7e0027e0d2ca452';

const EMPTY_SHA256 = createHash('sha256').digest('hex');
const golden = (): Uint8Array => Buffer.from(GOLDEN_HEX, 'hex');

/** A copy of `bytes` with a little-endian u32 written at `offset`. */
function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  new DataView(out.buffer).setUint32(offset, value, true);
  return out;
}

function assertRoundTrip(index: ChunkIndex): Uint8Array {
  const bytes = encodeIndex(index);
  assert.equal(bytes.length, encodedIndexLength(index.chunks.length));
  const decoded = decodeIndex(bytes);
  assert.deepEqual(decoded, index);
  assert.deepEqual(encodeIndex(decoded), bytes);
  return bytes;
}

describe('index codec', () => {
  describe('round trips', () => {
    it('an empty file with no chunks', () => {
      const bytes = assertRoundTrip({ size: 0, sha256: EMPTY_SHA256, params: PARAMS, method: 'cdc', chunks: [] });
      assert.equal(bytes.length, 96);
    });

    it('a single chunk', () => {
      assertRoundTrip({ size: 7, sha256: 'ab'.repeat(32), params: PARAMS, method: 'cdc', chunks: [{ id: 'cd'.repeat(32), length: 7 }] });
    });

    it('many chunks with random ids and lengths', () => {
      const rand = xorshift32(1);
      for (const count of [2, 17, 1000]) assertRoundTrip(randomIndex(rand, count));
    });

    it('a file over 4 GiB (both halves of the u64 size)', () => {
      const max = 64 * 1024 * 1024;
      const chunks = Array.from({ length: 70 }, (_, i) => ({ id: i.toString(16).padStart(64, '0'), length: max }));
      const bytes = assertRoundTrip({ size: 70 * max, sha256: 'ef'.repeat(32), params: { min: max, avg: max, max }, method: 'squashfs', chunks });
      assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(20, true), BigInt(70 * max));
    });

    it('decodes from a view into a larger buffer at an odd offset', () => {
      const bytes = golden();
      const big = new Uint8Array(bytes.length + 10);
      big.set(bytes, 7);
      assert.deepEqual(decodeIndex(big.subarray(7, 7 + bytes.length)), GOLDEN_INDEX);
    });
  });

  describe('golden vector', () => {
    it('encodes the golden index to the pinned bytes', () => {
      assert.equal(hex(encodeIndex(GOLDEN_INDEX)), GOLDEN_HEX);
    });

    it('decodes the pinned bytes to the golden index', () => {
      assert.deepEqual(decodeIndex(golden()), GOLDEN_INDEX);
    });

    it("records the 'squashfs' method as flag bit 0 and nothing else", () => {
      const squashfs = { ...GOLDEN_INDEX, method: 'squashfs' as const };
      const expected = GOLDEN_HEX.replace(/^(4c584349)(0100)(0000)/, '$1$20100').slice(0, -64) + SQUASHFS_TRAILER;
      assert.equal(hex(encodeIndex(squashfs)), expected);
      assert.deepEqual(decodeIndex(Buffer.from(expected, 'hex')), squashfs);
    });
  });

  describe('encode', () => {
    it('refuses an invalid index rather than writing it', () => {
      assertFails(() => encodeIndex({ ...GOLDEN_INDEX, size: 2999 }), 'MALFORMED_INDEX', /add up to 3000 bytes but the file size is 2999/);
    });
  });

  describe('decode rejects', () => {
    it('every truncation of a valid encoding, saying so', () => {
      const bytes = golden();
      for (let n = 0; n < bytes.length; n++) {
        assertFails(() => decodeIndex(bytes.subarray(0, n)), 'MALFORMED_INDEX', new RegExp(`truncated: .*got ${n}$`));
      }
    });

    it('a short input with the expected minimum in the message', () => {
      assertFails(() => decodeIndex(golden().subarray(0, 50)), 'MALFORMED_INDEX', /truncated: expected at least 96 bytes, got 50/);
      assertFails(() => decodeIndex(golden().subarray(0, 100)), 'MALFORMED_INDEX', /truncated: 2 entries need 168 bytes, got 100/);
    });

    it('wrong magic', () => {
      const bytes = golden();
      bytes[0] = 0x58; // "XXCI"
      assertFails(() => decodeIndex(reseal(bytes)), 'MALFORMED_INDEX', /wrong magic: expected "LXCI" \(4c584349\), got 58584349/);
      assertFails(() => decodeIndex(Buffer.from('{"not":"an index"}')), 'MALFORMED_INDEX', /wrong magic/);
    });

    it('version 2', () => {
      const bytes = golden();
      bytes[4] = 2;
      assertFails(() => decodeIndex(reseal(bytes)), 'MALFORMED_INDEX', /unsupported version 2/);
    });

    it('unknown flags', () => {
      const bytes = golden();
      bytes[7] = 0x80;
      bytes[6] = 0x03;
      assertFails(() => decodeIndex(reseal(bytes)), 'MALFORMED_INDEX', /unknown flags 0x8002/);
    });

    it('a count of 0xFFFFFFFF, from the byte length alone (nothing allocated per entry)', () => {
      const bytes = reseal(withU32(golden(), 60, 0xffffffff));
      const expected = 96 + 36 * 0xffffffff;
      assertFails(() => decodeIndex(bytes), 'MALFORMED_INDEX', new RegExp(`truncated: 4294967295 entries need ${expected} bytes, got 168`));
    });

    it('a count smaller than the entries present', () => {
      assertFails(() => decodeIndex(reseal(withU32(golden(), 60, 1))), 'MALFORMED_INDEX', /36 trailing bytes: 1 entries need 132 bytes, got 168/);
    });

    it('a trailing byte', () => {
      const bytes = Buffer.concat([golden(), Buffer.from([0])]);
      assertFails(() => decodeIndex(bytes), 'MALFORMED_INDEX', /1 trailing bytes: 2 entries need 168 bytes, got 169/);
    });

    it('any flipped byte outside magic, version, flags and count, as a checksum mismatch', () => {
      const original = golden();
      for (let offset = 8; offset < original.length; offset++) {
        if (offset >= 60 && offset < 64) continue; // the count: a length error, tested above
        const bytes = Uint8Array.from(original);
        bytes[offset]! ^= 0x01;
        assertFails(() => decodeIndex(bytes), 'MALFORMED_INDEX', /checksum mismatch: trailer says [0-9a-f]{64}, content hashes to [0-9a-f]{64}/);
      }
    });

    it('a zero-length entry', () => {
      const bytes = withU32(withU32(golden(), 64 + 32, 0), 64 + 36 + 32, 3000);
      assertFails(() => decodeIndex(reseal(bytes)), 'MALFORMED_INDEX', /chunk 0: length must be an integer from 1 to 262144 .*got 0/);
    });

    it('an entry longer than params.max', () => {
      const bytes = withU32(golden(), 64 + 36 + 32, 262145);
      assertFails(() => decodeIndex(reseal(bytes)), 'MALFORMED_INDEX', /chunk 1: length must be an integer from 1 to 262144 .*got 262145/);
    });

    it('lengths that do not sum to the size', () => {
      const bytes = withU32(golden(), 20, 3001);
      assertFails(() => decodeIndex(reseal(bytes)), 'MALFORMED_INDEX', /add up to 3000 bytes but the file size is 3001/);
    });

    it('a size above Number.MAX_SAFE_INTEGER', () => {
      const bytes = golden();
      new DataView(bytes.buffer, bytes.byteOffset).setBigUint64(20, 2n ** 53n, true);
      assertFails(() => decodeIndex(reseal(bytes)), 'MALFORMED_INDEX', /file size 9007199254740992 is larger than 9007199254740991/);
    });

    it('invalid params (min > avg), with the InvalidParamsError as cause', () => {
      const bytes = withU32(golden(), 8, 65537);
      const err = assertFails(() => decodeIndex(reseal(bytes)), 'MALFORMED_INDEX', /invalid chunker params: .*65537\/65536\/262144/);
      assert.ok(err.cause instanceof InvalidParamsError);
      assert.equal(err.cause.code, 'INVALID_PARAMS');
    });

    it('something that is not bytes', () => {
      assertFails(() => decodeIndex('LXCI' as unknown as Uint8Array), 'MALFORMED_INDEX', /expected a Uint8Array/);
    });
  });

  describe('randomized mutations (seeded)', () => {
    const base = encodeIndex(randomIndex(xorshift32(7), 5, SMALL_PARAMS));

    function mutate(rand: () => number, input: Uint8Array): Uint8Array {
      let bytes = Array.from(input);
      const rounds = between(rand, 1, 3);
      for (let r = 0; r < rounds; r++) {
        if (bytes.length === 0) {
          bytes.push(rand() & 0xff);
          continue;
        }
        const at = between(rand, 0, bytes.length - 1);
        switch (rand() % 5) {
          case 0: // flip one bit
            bytes[at]! ^= 1 << rand() % 8;
            break;
          case 1: // overwrite a byte
            bytes[at] = rand() & 0xff;
            break;
          case 2: // insert a byte
            bytes.splice(at, 0, rand() & 0xff);
            break;
          case 3: // delete a byte
            bytes.splice(at, 1);
            break;
          default: // cut the tail off
            bytes = bytes.slice(0, at);
        }
      }
      return Uint8Array.from(bytes);
    }

    function attempt(bytes: Uint8Array): ChunkIndex | MalformedIndexError {
      try {
        return decodeIndex(bytes);
      } catch (err) {
        assert.ok(err instanceof MalformedIndexError, `decode threw something else: ${String(err)}`);
        assert.equal(err.code, 'MALFORMED_INDEX');
        return err;
      }
    }

    it('are always rejected with MalformedIndexError (the checksum catches what the rest lets through)', () => {
      const rand = xorshift32(42);
      let rejected = 0;
      for (let i = 0; i < 3000; i++) {
        const bytes = mutate(rand, base);
        const result = attempt(bytes);
        if (Buffer.from(bytes).equals(base)) {
          // Mutations that cancel out (the same bit flipped twice) give back the original.
          assert.ok(!(result instanceof Error), `seed 42 case ${i}: the unchanged encoding was rejected`);
        } else {
          assert.ok(result instanceof Error, `seed 42 case ${i}: a mutated encoding was accepted: ${hex(bytes)}`);
          rejected++;
        }
      }
      assert.ok(rejected > 2900);
    });

    it('with the checksum resealed, are rejected or decode to an index that re-encodes to the same bytes', () => {
      const rand = xorshift32(1234);
      let accepted = 0;
      let rejected = 0;
      for (let i = 0; i < 3000; i++) {
        const bytes = reseal(mutate(rand, base));
        const result = attempt(bytes);
        if (result instanceof Error) {
          rejected++;
        } else {
          // One index, one encoding: anything accepted must be exactly what the encoder writes.
          assert.equal(hex(encodeIndex(result)), hex(bytes), `seed 1234 case ${i}`);
          accepted++;
        }
      }
      // Both paths exercised: id bytes and the file sha256 can change freely, most else cannot.
      assert.ok(accepted > 100 && rejected > 100, `accepted ${accepted}, rejected ${rejected}`);
    });
  });
});
