import assert from 'node:assert/strict';
import { chunkId } from '@lxchunk/chunker';
import {
  ChunkBatchDecoder,
  FrameStatus,
  encodeBatchEnd,
  encodeBatchStart,
  encodeFrameHeader,
  type ChunkFrame,
} from '../src/index.js';

function payload(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);
}

const chunks = [payload(0, 1), payload(1, 2), payload(70_000, 3), payload(5, 4)];
const missingId = 'ee'.repeat(32);

function encodeStream(): Uint8Array {
  const parts: Uint8Array[] = [encodeBatchStart()];
  for (const bytes of chunks) parts.push(encodeFrameHeader(chunkId(bytes), FrameStatus.identity, bytes.length), bytes);
  parts.push(encodeFrameHeader(missingId, FrameStatus.missing, 0));
  parts.push(encodeBatchEnd());
  return Buffer.concat(parts);
}

function decode(stream: Uint8Array, pieces: number[]): Array<{ id: string; status: number; payload: Buffer }> {
  const decoder = new ChunkBatchDecoder();
  const frames: Array<{ id: string; status: number; payload: Buffer }> = [];
  const onFrame = (frame: ChunkFrame) => frames.push({ id: frame.id, status: frame.status, payload: Buffer.from(frame.payload) });
  let pos = 0;
  for (const piece of pieces) {
    decoder.push(stream.subarray(pos, pos + piece), onFrame);
    pos += piece;
  }
  decoder.push(stream.subarray(pos), onFrame);
  decoder.finish();
  return frames;
}

describe('chunk batch framing', () => {
  const stream = encodeStream();
  const expected = [
    ...chunks.map((bytes) => ({ id: chunkId(bytes), status: FrameStatus.identity as number, payload: Buffer.from(bytes) })),
    { id: missingId, status: FrameStatus.missing as number, payload: Buffer.alloc(0) },
  ];

  it('pins the header layout (golden bytes)', () => {
    const header = encodeFrameHeader('ab'.repeat(32), FrameStatus.zstd, 0x01020304);
    assert.equal(Buffer.from(header).toString('hex'), `${'ab'.repeat(32)}01${'04030201'}`);
    assert.equal(Buffer.from(encodeBatchStart()).toString('ascii'), 'LXCB');
    assert.equal(Buffer.from(encodeBatchEnd()).toString('hex'), `${'00'.repeat(32)}ff00000000`);
  });

  it('decodes the same frames however the stream is split', () => {
    assert.deepEqual(decode(stream, []), expected);
    assert.deepEqual(decode(stream, Array(stream.length).fill(1)), expected);
    for (const size of [2, 3, 37, 38, 4096, 65_536]) {
      assert.deepEqual(decode(stream, Array(Math.floor(stream.length / size)).fill(size)), expected, `pieces of ${size}`);
    }
  });

  it('rejects a stream cut short at any point', () => {
    for (let cut = 0; cut < stream.length; cut += cut < 200 ? 1 : 997) {
      const decoder = new ChunkBatchDecoder();
      assert.throws(
        () => {
          decoder.push(stream.subarray(0, cut), () => {});
          decoder.finish();
        },
        { code: 'PROTOCOL_ERROR' },
        `cut at ${cut}`,
      );
    }
  });

  it('rejects bad magic, unknown status, oversized lengths, payload on a missing frame and data after the trailer', () => {
    const bad = (bytes: Uint8Array, pattern: RegExp) =>
      assert.throws(() => new ChunkBatchDecoder().push(bytes, () => {}), { code: 'PROTOCOL_ERROR', message: pattern });
    bad(Buffer.from('LXCX'), /bad magic/);
    const header = Buffer.from(encodeFrameHeader('ab'.repeat(32), FrameStatus.identity, 3));
    header[32] = 7;
    bad(Buffer.concat([encodeBatchStart(), header]), /unknown frame status 7/);
    const huge = Buffer.from(encodeFrameHeader('ab'.repeat(32), FrameStatus.identity, 0));
    huge.writeUInt32LE(0xffffffff, 33);
    bad(Buffer.concat([encodeBatchStart(), huge]), /announces/);
    const missingWithBody = Buffer.from(encodeFrameHeader('ab'.repeat(32), FrameStatus.missing, 0));
    missingWithBody.writeUInt32LE(4, 33);
    bad(Buffer.concat([encodeBatchStart(), missingWithBody]), /missing frame with a payload/);
    bad(Buffer.concat([stream, Buffer.from([0])]), /after the trailer/);
  });

  it('tells how many bytes the next frame needs as soon as its header is in', () => {
    const big = payload(100_000, 9);
    const stream = Buffer.concat([encodeBatchStart(), encodeFrameHeader(chunkId(big), FrameStatus.identity, big.length), big, encodeBatchEnd()]);
    const decoder = new ChunkBatchDecoder();
    const frames: ChunkFrame[] = [];
    decoder.push(stream.subarray(0, 10), (f) => frames.push(f));
    assert.equal(decoder.nextFrameBytes, 6, 'header not in yet: what is held');
    decoder.push(stream.subarray(10, 50), (f) => frames.push(f));
    assert.equal(decoder.nextFrameBytes, 37 + big.length);
    decoder.push(stream.subarray(50), (f) => frames.push({ ...f, payload: f.payload.slice() }));
    assert.equal(decoder.nextFrameBytes, 0);
    assert.ok(decoder.complete);
    assert.deepEqual(frames[0]!.payload, big);
  });

  it('refuses to encode inconsistent frames', () => {
    assert.throws(() => encodeFrameHeader('ab'.repeat(32), FrameStatus.missing, 1), RangeError);
    assert.throws(() => encodeFrameHeader('ab'.repeat(32), FrameStatus.identity, 64 * 1024 * 1024 + 1), RangeError);
    assert.throws(() => encodeFrameHeader('AB'.repeat(32), FrameStatus.identity, 1), { code: 'INVALID_ID' });
    // Only a delta frame may exceed the largest chunk, by its list of bases.
    assert.doesNotThrow(() => encodeFrameHeader('ab'.repeat(32), FrameStatus.delta, 64 * 1024 * 1024 + 1));
    assert.throws(() => encodeFrameHeader('ab'.repeat(32), FrameStatus.delta, 64 * 1024 * 1024 + 258), RangeError);
  });

  it('passes delta frames through, and refuses a plain frame announcing more than a chunk', () => {
    const payload = Uint8Array.of(1, ...new Uint8Array(32).fill(7), 40, 181, 47, 253);
    const stream = Buffer.concat([encodeBatchStart(), encodeFrameHeader('cd'.repeat(32), FrameStatus.delta, payload.length), payload, encodeBatchEnd()]);
    assert.deepEqual(decode(stream, [3, 40]), [{ id: 'cd'.repeat(32), status: FrameStatus.delta, payload: Buffer.from(payload) }]);
    const header = encodeFrameHeader('cd'.repeat(32), FrameStatus.identity, 1);
    new DataView(header.buffer).setUint32(33, 64 * 1024 * 1024 + 1, true);
    assert.throws(() => new ChunkBatchDecoder().push(Buffer.concat([encodeBatchStart(), header]), () => undefined), { code: 'PROTOCOL_ERROR' });
  });
});
