import assert from 'node:assert/strict';
import { ChunkCorruptError, ERROR_CODES, InvalidIdError, LxchunkError, isLxchunkError } from '../src/index.js';

describe('errors', () => {
  it('carry a stable code, a name and a cause', () => {
    const cause = new Error('disk said no');
    const err = new ChunkCorruptError('ab'.repeat(32), 'blake3 mismatch', { cause });
    assert.equal(err.code, 'CHUNK_CORRUPT');
    assert.equal(err.name, 'ChunkCorruptError');
    assert.equal(err.cause, cause);
    assert.ok(err instanceof LxchunkError);
    assert.ok(isLxchunkError(err, 'CHUNK_CORRUPT'));
    assert.deepEqual(JSON.parse(JSON.stringify(err)), { code: 'CHUNK_CORRUPT', message: err.message });
    assert.equal(isLxchunkError(err, 'CHUNK_NOT_FOUND'), false);
  });

  it('quote a bad id briefly, so a huge input never floods a log', () => {
    const err = new InvalidIdError('chunk id', 'x'.repeat(10_000));
    assert.ok(err.message.length < 200, err.message);
    assert.match(err.message, /10000 chars/);
  });

  it('codes are unique', () => {
    assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
  });
});
