import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  decodeContentIndex,
  decodeManifest,
  encodeContentIndex,
  encodeIndex,
  encodeManifest,
  manifestChunkIds,
  type ContentIndex,
  type ImageManifest,
} from '../src/index.js';
import { GOLDEN_INDEX, assertFails, hex } from './fixtures.js';

/** Two blocks whose contents (1000 + 2000 bytes) are GOLDEN_INDEX's content stream, in a 10,000-byte file. */
const GOLDEN_CONTENT: ContentIndex = {
  encoder: 'xz-test',
  blocks: [
    { offset: 96, length: 300, contentLength: 1000, filter: 0, dictSize: 131072, storedHash: '11'.repeat(16) },
    { offset: 4096, length: 700, contentLength: 2000, filter: 4, dictSize: 8192, storedHash: '22'.repeat(16) },
  ],
  index: GOLDEN_INDEX,
};
const FILE_SIZE = 10_000;

/** GOLDEN_CONTENT encoded, field by field as documented in src/content-index-codec.ts. */
function goldenBody(): string {
  const index = hex(encodeIndex(GOLDEN_INDEX));
  return [
    '4c584358', // "LXCX"
    '0100', // version 1
    '07', // encoder id length
    Buffer.from('xz-test').toString('hex'),
    '02000000', // 2 blocks
    '6000000000000000' + '2c010000' + 'e8030000' + '00' + '00000200' + '11'.repeat(16) + '0000', // offset 96, 300, 1000, none, 128 KiB, hash, padding
    '0010000000000000' + 'bc020000' + 'd0070000' + '04' + '00200000' + '22'.repeat(16) + '0000', // offset 4096, 700, 2000, x86, 8 KiB, hash, padding
    (index.length / 2).toString(16).padStart(8, '0').match(/../g)!.reverse().join(''), // u32 LE index length
    index,
  ].join('');
}

describe('content index codec (LXCX)', () => {
  it('encodes the golden vector byte for byte and decodes it back', () => {
    const body = goldenBody();
    const trailer = createHash('sha256').update(Buffer.from(body, 'hex')).digest('hex');
    const encoded = encodeContentIndex(GOLDEN_CONTENT, FILE_SIZE);
    assert.equal(hex(encoded), body + trailer);
    assert.deepEqual(decodeContentIndex(encoded, FILE_SIZE), GOLDEN_CONTENT);
  });

  it('refuses blocks out of order, overlapping, past the file, with unknown filters or contents that do not add up', () => {
    const variant = (blocks: ContentIndex['blocks']) => ({ ...GOLDEN_CONTENT, blocks });
    const [a, b] = GOLDEN_CONTENT.blocks as [ContentIndex['blocks'][0], ContentIndex['blocks'][0]];
    assertFails(() => encodeContentIndex(variant([b, a]), FILE_SIZE), 'MALFORMED_INDEX', /content block 1: offset must be .* at or after 4796/);
    assertFails(() => encodeContentIndex(variant([a, { ...b, offset: 100 }]), FILE_SIZE), 'MALFORMED_INDEX', /no overlap/);
    assertFails(() => encodeContentIndex(GOLDEN_CONTENT, 4500), 'MALFORMED_INDEX', /past the end of the 4500-byte file/);
    assertFails(() => encodeContentIndex(variant([a, { ...b, filter: 0x21 }]), FILE_SIZE), 'MALFORMED_INDEX', /filter must be one of/);
    assertFails(() => encodeContentIndex(variant([a, { ...b, contentLength: 1999 }]), FILE_SIZE), 'MALFORMED_INDEX', /2999 bytes of content but the content stream has 3000/);
    assertFails(() => encodeContentIndex({ ...GOLDEN_CONTENT, encoder: 'with space' }, FILE_SIZE), 'MALFORMED_INDEX', /encoder must be/);
    assertFails(() => encodeContentIndex(variant([a, { ...b, storedHash: 'XX' }]), FILE_SIZE), 'MALFORMED_INDEX', /storedHash must be 32 lowercase hex/);
  });

  it('keeps the base64 of the content stream index the same when the block count changes (manifests compress against the last one)', () => {
    const oneBlock: ContentIndex = { ...GOLDEN_CONTENT, blocks: [{ ...GOLDEN_CONTENT.blocks[0]!, contentLength: 3000 }] };
    const base64 = (content: ContentIndex) => Buffer.from(encodeContentIndex(content, FILE_SIZE)).toString('base64');
    // The stream index's bytes, as base64 from the phase both encodings put them at.
    const index = Buffer.from(encodeIndex(GOLDEN_INDEX));
    const [one, two] = [base64(oneBlock), base64(GOLDEN_CONTENT)];
    const startOne = Buffer.from(one, 'base64').indexOf(index);
    const startTwo = Buffer.from(two, 'base64').indexOf(index);
    assert.equal((startTwo - startOne) % 3, 0, 'a block entry is a multiple of 3 bytes');
    const skip = (3 - (startOne % 3)) % 3; // to the first whole base64 group
    const shared = index.subarray(skip, skip + Math.floor((index.length - skip) / 3) * 3).toString('base64');
    assert.ok(one.includes(shared) && two.includes(shared));
  });

  it('refuses damaged bytes: every truncation, a flipped bit, trailing bytes', () => {
    const encoded = encodeContentIndex(GOLDEN_CONTENT, FILE_SIZE);
    for (let cut = 0; cut < encoded.length; cut++) {
      assertFails(() => decodeContentIndex(encoded.subarray(0, cut), FILE_SIZE), 'MALFORMED_INDEX', /content index|content block/);
    }
    for (const at of [0, 5, 12, 40, encoded.length - 40, encoded.length - 1]) {
      const flipped = Uint8Array.from(encoded);
      flipped[at]! ^= 0x10;
      assertFails(() => decodeContentIndex(flipped, FILE_SIZE), 'MALFORMED_INDEX', /content index|content block/);
    }
    assertFails(() => decodeContentIndex(Buffer.concat([encoded, Buffer.from([0])]), FILE_SIZE), 'MALFORMED_INDEX', /bytes where its lengths say/);
  });

  it('rides in the manifest as an optional file field; the image references its content chunks too', () => {
    const rootfs = { ...GOLDEN_INDEX, size: FILE_SIZE, chunks: [{ id: 'dd'.repeat(32), length: FILE_SIZE }] };
    const manifest: ImageManifest = {
      fingerprint: 'ee'.repeat(32),
      type: 'container',
      architecture: 'x86_64',
      created: '2026-12-03T00:00:00Z',
      public: false,
      properties: {},
      files: [
        { role: 'metadata', index: GOLDEN_INDEX },
        { role: 'rootfs', index: rootfs, content: GOLDEN_CONTENT },
      ],
    };
    const bytes = encodeManifest(manifest);
    assert.match(Buffer.from(bytes).toString(), /"role":"rootfs",.*"index":"[^"]+","content":"TFhDWA/);
    const decoded = decodeManifest(bytes);
    assert.deepEqual(decoded.files[1]!.content, GOLDEN_CONTENT);
    assert.equal(decoded.files[0]!.content, undefined);
    assert.deepEqual(Buffer.from(encodeManifest(decoded)), Buffer.from(bytes));
    assert.deepEqual(manifestChunkIds(decoded).sort(), ['aa'.repeat(32), 'bb'.repeat(32), 'dd'.repeat(32)]);
    // A content index that does not fit its file is a malformed manifest, named by its path.
    const tooSmall = Buffer.from(bytes).toString().replace(`"size":${FILE_SIZE}`, '"size":4500');
    assertFails(() => decodeManifest(tooSmall), 'MALFORMED_MANIFEST', /files\[1\]\.(size|index|content)/);
  });
});
