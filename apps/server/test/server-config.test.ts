import assert from 'node:assert/strict';
import { PROTOCOL_LIMITS } from '@lxchunk/format';
import { DEFAULT_LIMITS } from '../src/server-config.js';

describe('server limits', () => {
  it('default to the wire contract: what clients split and refuse by is what a default server enforces', () => {
    for (const [key, value] of Object.entries(PROTOCOL_LIMITS)) assert.equal(DEFAULT_LIMITS[key as keyof typeof DEFAULT_LIMITS], value, key);
  });
});
