import assert from 'node:assert/strict';
import { chunkId } from '@lxchunk/chunker';
import { MAX_DELTA_BASES, decodeDeltaChunk, encodeDeltaPayload, parseDeltaPayload, parseFetchRequest, parseIdList } from '../src/index.js';

/** Text-like bytes: what a library or config file's chunk looks like, so zstd finds matches. */
function textBytes(n: number, seed: number): Buffer {
  const words = ['lib', 'debian', 'usr', 'share', 'version', 'config', 'update', 'package'];
  const out: string[] = [];
  let x = seed;
  while (out.join(' ').length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    out.push(`${words[x % words.length]}${x % 97}`);
  }
  return Buffer.from(out.join(' ').slice(0, n));
}

describe('chunk deltas', () => {
  const old = textBytes(200_000, 1);
  // The new chunk: the old one with a few edits and an insert, as a package update makes.
  const edited = Buffer.concat([old.subarray(0, 50_000), Buffer.from('an inserted line of a new version\n'), old.subarray(50_000, 150_000), textBytes(4096, 9), old.subarray(150_000)]);
  const id = chunkId(edited);
  const base = { id: chunkId(old), bytes: old };

  it('round-trips a chunk against its predecessor, byte for byte, far smaller than the chunk', () => {
    const payload = encodeDeltaPayload(edited, [base]);
    // Layout: count, then the base ids, then the zstd frame.
    assert.equal(payload[0], 1);
    assert.equal(Buffer.from(payload.subarray(1, 33)).toString('hex'), base.id);
    assert.ok(payload.length < edited.length / 20, `${payload.length} bytes for ${edited.length}`);
    const parsed = parseDeltaPayload(payload);
    assert.deepEqual(parsed.bases, [base.id]);
    assert.ok(Buffer.from(decodeDeltaChunk(id, parsed.frame, [old])).equals(edited));
  });

  it('keeps the order of several bases, and refuses the wrong ones as a corrupt chunk', () => {
    const other = { id: chunkId(textBytes(1000, 5)), bytes: textBytes(1000, 5) };
    const payload = encodeDeltaPayload(edited, [other, base]);
    const { bases, frame } = parseDeltaPayload(payload);
    assert.deepEqual(bases, [other.id, base.id]);
    assert.ok(Buffer.from(decodeDeltaChunk(id, frame, [other.bytes, old])).equals(edited));
    // Bases swapped, or a base damaged by one byte: never the wrong bytes, always CHUNK_CORRUPT.
    assert.throws(() => decodeDeltaChunk(id, frame, [old, other.bytes]), { code: 'CHUNK_CORRUPT' });
    const damaged = Buffer.from(old);
    damaged[100_000] = damaged[100_000]! ^ 1;
    assert.throws(() => decodeDeltaChunk(id, frame, [other.bytes, damaged]), { code: 'CHUNK_CORRUPT' });
  });

  it('refuses a payload that is not a delta', () => {
    assert.throws(() => parseDeltaPayload(new Uint8Array([0, 1, 2])), { code: 'PROTOCOL_ERROR' });
    assert.throws(() => parseDeltaPayload(new Uint8Array([MAX_DELTA_BASES + 1, ...new Uint8Array(400)])), { code: 'PROTOCOL_ERROR' });
    assert.throws(() => parseDeltaPayload(new Uint8Array(33).fill(1)), { code: 'PROTOCOL_ERROR' }, 'a base id and no frame');
    assert.throws(() => encodeDeltaPayload(edited, []), RangeError);
  });
});

describe('fetch request', () => {
  const a = 'aa'.repeat(32);
  const b = 'bb'.repeat(32);
  const c = 'cc'.repeat(32);

  it('reads ids alone, or ids with bases for some of them', () => {
    assert.deepEqual(parseFetchRequest({ ids: [a, b] }, 10), { ids: [a, b] });
    assert.deepEqual(parseFetchRequest({ ids: [a, b], bases: {} }, 10), { ids: [a, b], bases: {} });
    assert.deepEqual(parseFetchRequest({ ids: [a, b], bases: { [b]: [c, a] } }, 10), { ids: [a, b], bases: { [b]: [c, a] } });
  });

  it('refuses what a client must not send, with stable codes', () => {
    const bad: Array<[unknown, string]> = [
      [{ ids: [a], extra: 1 }, 'INVALID_INPUT'],
      [{ ids: [a], bases: [] }, 'INVALID_INPUT'],
      [{ ids: [a], bases: { [b]: [c] } }, 'INVALID_INPUT'], // bases for an id not requested
      [{ ids: [a], bases: { [a]: [] } }, 'INVALID_INPUT'],
      [{ ids: [a], bases: { [a]: [a] } }, 'INVALID_INPUT'], // the chunk itself
      [{ ids: [a], bases: { [a]: [b, b] } }, 'INVALID_INPUT'],
      [{ ids: [a], bases: { [a]: Array.from({ length: MAX_DELTA_BASES + 1 }, (_, i) => i.toString(16).padStart(64, '0')) } }, 'INVALID_INPUT'],
      [{ ids: [a], bases: { [a]: ['zz'] } }, 'INVALID_ID'],
      [{ ids: [a, b, c] }, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [body, code] of bad) assert.throws(() => parseFetchRequest(body, 2), { code }, JSON.stringify(body));
    // The other id-list endpoints take ids alone.
    assert.throws(() => parseIdList({ ids: [a], bases: {} }, 10), { code: 'INVALID_INPUT' });
  });
});
