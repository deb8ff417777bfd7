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

describe('HTTP status table', () => {
  it('maps every code, and a server error body back to the same code, message and details', async () => {
    const { HTTP_STATUS, errorBody, errorFromBody, ChunksMissingError } = await import('../src/index.js');
    for (const code of ERROR_CODES) assert.ok(HTTP_STATUS[code] >= 400 && HTTP_STATUS[code] < 600, code);
    const sent = new ChunksMissingError(['ab'.repeat(32)], 5);
    const body = JSON.parse(JSON.stringify(errorBody(sent)));
    const back = errorFromBody(HTTP_STATUS[sent.code], body);
    assert.equal(back.code, 'CHUNKS_MISSING');
    assert.equal(back.message, sent.message);
    assert.deepEqual(back.details, { missing: ['ab'.repeat(32)], count: 5 });
  });

  it('turns a body that is not ours into an error by status', async () => {
    const { errorFromBody } = await import('../src/index.js');
    assert.equal(errorFromBody(401, 'nope').code, 'UNAUTHORIZED');
    assert.equal(errorFromBody(502, undefined).code, 'UNAVAILABLE');
    assert.equal(errorFromBody(418, { error: { code: 'TEAPOT', message: 'x' } }).code, 'PROTOCOL_ERROR');
  });
});
