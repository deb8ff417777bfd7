import assert from 'node:assert/strict';
import { xorshift32 } from '@lxchunk/chunker/testing';
import { MalformedIndexError } from '@lxchunk/errors';
import {
  FILE_ROLES,
  MAX_MANIFEST_BYTES,
  decodeManifest,
  encodeIndex,
  encodeManifest,
  type ChunkIndex,
  type ImageManifest,
} from '../src/index.js';
import { GOLDEN_INDEX, PARAMS, assertFails, randomHex64, randomIndex } from './fixtures.js';

const METADATA_INDEX: ChunkIndex = { size: 500, sha256: 'dd'.repeat(32), params: PARAMS, method: 'cdc', chunks: [{ id: 'ee'.repeat(32), length: 500 }] };

const GOLDEN_MANIFEST: ImageManifest = {
  fingerprint: '0123456789abcdef'.repeat(4),
  type: 'container',
  architecture: 'x86_64',
  created: '2026-11-28T00:00:00Z',
  public: false,
  // Deliberately unsorted: the encoder sorts.
  properties: { os: 'debian', release: 'trixie', description: 'Debian trixie amd64', architecture: 'amd64' },
  // Deliberately rootfs first: the encoder writes metadata first.
  files: [
    { role: 'rootfs', index: GOLDEN_INDEX },
    { role: 'metadata', index: METADATA_INDEX },
  ],
};

/**
 * GOLDEN_MANIFEST encoded. The two base64 strings were computed independently of the code
 * (`xxd -r -p | base64` over the hand-assembled index bytes); GOLDEN_INDEX's is the index-codec
 * golden vector. If this fails, the wire format changed: that needs a new version.
 */
const GOLDEN_JSON =
  '{"version":1,"fingerprint":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",' +
  '"type":"container","architecture":"x86_64","created":"2026-11-28T00:00:00Z","public":false,' +
  '"properties":{"architecture":"amd64","description":"Debian trixie amd64","os":"debian","release":"trixie"},' +
  '"files":[' +
  `{"role":"metadata","size":500,"sha256":"${'dd'.repeat(32)}","index":"` +
  'TFhDSQEAAAAAQAAAAAABAAAABAD0AQAAAAAAAN3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3d3dAQAAAO7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u' +
  '9AEAAAzYE90hGtUse78fsZTA55iB8bHmIGE0EV48gtzMExtn"},' +
  `{"role":"rootfs","size":3000,"sha256":"${'cc'.repeat(32)}","index":"` +
  'TFhDSQEAAAAAQAAAAAABAAAABAC4CwAAAAAAAMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMAgAAAKqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq' +
  '6AMAALu7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u70AcAAHrGZabz6hoXLJ9PwJ2avOp/OjAwC2hzIowGIbb1VSBZ"}' +
  ']}';

/** A unified image (one tarball, as `lxc publish` makes): its fingerprint is the tarball's sha256. */
const GOLDEN_UNIFIED: ImageManifest = {
  fingerprint: 'cc'.repeat(32),
  type: 'container',
  architecture: 'x86_64',
  created: '2026-11-28T00:00:00Z',
  public: true,
  properties: { os: 'debian' },
  files: [{ role: 'unified', index: GOLDEN_INDEX }],
};

/** GOLDEN_UNIFIED encoded; the index is GOLDEN_JSON's rootfs index, pinned the same way. */
const GOLDEN_UNIFIED_JSON =
  `{"version":1,"fingerprint":"${'cc'.repeat(32)}",` +
  '"type":"container","architecture":"x86_64","created":"2026-11-28T00:00:00Z","public":true,' +
  '"properties":{"os":"debian"},' +
  '"files":[' +
  `{"role":"unified","size":3000,"sha256":"${'cc'.repeat(32)}","index":"` +
  'TFhDSQEAAAAAQAAAAAABAAAABAC4CwAAAAAAAMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMzMAgAAAKqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq' +
  '6AMAALu7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u7u70AcAAHrGZabz6hoXLJ9PwJ2avOp/OjAwC2hzIowGIbb1VSBZ"}' +
  ']}';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

type Wire = Record<string, unknown> & { files: Record<string, unknown>[]; properties: Record<string, unknown> };
/** The golden manifest as parsed JSON, to break one thing at a time. */
const wire = (): Wire => JSON.parse(GOLDEN_JSON) as Wire;
const decodeWire = (o: unknown): ImageManifest => decodeManifest(JSON.stringify(o));
const fails = (o: unknown, pattern: RegExp) => assertFails(() => decodeWire(o), 'MALFORMED_MANIFEST', pattern);

function assertRoundTrip(manifest: ImageManifest): Uint8Array {
  const bytes = encodeManifest(manifest);
  const decoded = decodeManifest(bytes);
  const files = [...manifest.files].sort((a, b) => FILE_ROLES.indexOf(a.role) - FILE_ROLES.indexOf(b.role));
  assert.deepEqual(decoded, { ...manifest, files });
  assert.deepEqual(encodeManifest(decoded), bytes);
  assert.deepEqual(decodeManifest(text(bytes)), decoded); // the string form decodes the same
  return bytes;
}

describe('manifest codec', () => {
  describe('round trips', () => {
    it('a container image', () => {
      assertRoundTrip(GOLDEN_MANIFEST);
    });

    it('a virtual-machine image with a larger random index and no properties', () => {
      const rand = xorshift32(9);
      assertRoundTrip({
        fingerprint: randomHex64(rand),
        type: 'virtual-machine',
        architecture: 'aarch64',
        created: '2028-02-29T23:59:59.123456789Z',
        public: true,
        properties: {},
        files: [
          { role: 'metadata', index: randomIndex(rand, 3) },
          { role: 'rootfs.img', index: randomIndex(rand, 500) },
        ],
      });
    });

    it('properties with non-ASCII text, quotes, integer-like and prototype-like keys', () => {
      const properties = { '9': 'nine', '10': 'ten', __proto__x: 'p', constructor: 'c', description: 'Ubuntu "noble" — ünïcode 🐧\n' };
      const bytes = assertRoundTrip({ ...GOLDEN_MANIFEST, properties });
      // Sorted as strings ("10" before "9"), not in JavaScript's integer-keys-first object order.
      assert.match(text(bytes), /"properties":\{"10":"ten","9":"nine","__proto__x":"p","constructor":"c","description":/);
    });

    it('a "__proto__" property is plain data', () => {
      const o = wire();
      const json = JSON.stringify(o).replace('"properties":{', '"properties":{"__proto__":"x",');
      const decoded = decodeManifest(json);
      assert.equal(Object.getOwnPropertyDescriptor(decoded.properties, '__proto__')?.value, 'x');
      assert.equal(Object.getPrototypeOf(decoded.properties), Object.prototype);
      assert.equal(text(encodeManifest(decoded)), json);
    });
  });

  describe('golden vector', () => {
    it('encodes the golden manifest to the pinned text', () => {
      assert.equal(text(encodeManifest(GOLDEN_MANIFEST)), GOLDEN_JSON);
    });

    it('the pinned indexes are the index codec\'s own encoding', () => {
      const files = wire().files;
      assert.equal(files[0]!.index, Buffer.from(encodeIndex(METADATA_INDEX)).toString('base64'));
      assert.equal(files[1]!.index, Buffer.from(encodeIndex(GOLDEN_INDEX)).toString('base64'));
    });

    it('a unified image: one file of role unified, encoded to its pinned text and decoded back', () => {
      assert.equal(text(encodeManifest(GOLDEN_UNIFIED)), GOLDEN_UNIFIED_JSON);
      assert.deepEqual(decodeManifest(GOLDEN_UNIFIED_JSON), GOLDEN_UNIFIED);
      assertRoundTrip({ ...GOLDEN_UNIFIED, type: 'virtual-machine' });
    });

    it('decodes the pinned text, and the same JSON written differently, to the golden manifest', () => {
      const expected = { ...GOLDEN_MANIFEST, files: [GOLDEN_MANIFEST.files[1], GOLDEN_MANIFEST.files[0]] };
      assert.deepEqual(decodeManifest(Buffer.from(GOLDEN_JSON)), expected);
      const o = wire();
      o.files.reverse();
      assert.deepEqual(decodeManifest(JSON.stringify(o, null, 2)), expected);
    });
  });

  describe('encode', () => {
    it('refuses an invalid manifest rather than writing it', () => {
      assertFails(() => encodeManifest({ ...GOLDEN_MANIFEST, type: 'virtual-machine' }), 'MALFORMED_MANIFEST', /files\[0\]\.role: a virtual-machine image has no rootfs file/);
      const bad = { ...GOLDEN_MANIFEST, files: [GOLDEN_MANIFEST.files[1]!, { role: 'rootfs' as const, index: { ...GOLDEN_INDEX, size: 1 } }] };
      const err = assertFails(() => encodeManifest(bad), 'MALFORMED_MANIFEST', /files\[1\]\.index: malformed chunk index: .*file size is 1/);
      assert.ok(err.cause instanceof MalformedIndexError);
    });
  });

  describe('decode rejects', () => {
    it('invalid JSON', () => {
      assertFails(() => decodeManifest('{"version":1,'), 'MALFORMED_MANIFEST', /invalid JSON/);
      assertFails(() => decodeManifest(''), 'MALFORMED_MANIFEST', /invalid JSON/);
    });

    it('JSON that is not an object', () => {
      assertFails(() => decodeManifest('[]'), 'MALFORMED_MANIFEST', /manifest must be a JSON object, got array/);
      assertFails(() => decodeManifest('null'), 'MALFORMED_MANIFEST', /manifest must be a JSON object, got null/);
    });

    it('bytes that are not UTF-8, and a byte order mark', () => {
      const bytes = Buffer.from(GOLDEN_JSON);
      bytes[bytes.indexOf('x86_64')] = 0xff;
      assertFails(() => decodeManifest(bytes), 'MALFORMED_MANIFEST', /not valid UTF-8/);
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(GOLDEN_JSON)]);
      assertFails(() => decodeManifest(bom), 'MALFORMED_MANIFEST', /invalid JSON/);
    });

    it('an unknown top-level field', () => {
      fails({ ...wire(), signature: 'x' }, /^malformed image manifest: signature: unknown field$/);
    });

    it('an unknown file field', () => {
      const o = wire();
      o.files[1]!.compression = 'zstd';
      fails(o, /files\[1\]\.compression: unknown field/);
    });

    it('a missing field', () => {
      const o = wire();
      delete o.created;
      fails(o, /created: missing/);
      const p = wire();
      delete p.files[0]!.sha256;
      fails(p, /files\[0\]\.sha256: missing/);
    });

    it('any version but 1', () => {
      fails({ ...wire(), version: 2 }, /version: unsupported version 2/);
      fails({ ...wire(), version: '1' }, /version: unsupported version "1"/);
    });

    it('a bad fingerprint: uppercase, 63 chars, path tricks, not a string', () => {
      const fp = '0123456789abcdef'.repeat(4);
      fails({ ...wire(), fingerprint: fp.toUpperCase() }, /fingerprint: must be 64 lowercase hex characters/);
      fails({ ...wire(), fingerprint: fp.slice(1) }, /fingerprint: must be 64 lowercase hex characters/);
      fails({ ...wire(), fingerprint: `../${fp.slice(3)}` }, /fingerprint: must be 64 lowercase hex characters, got "\.\.\//);
      fails({ ...wire(), fingerprint: `${fp}\n` }, /fingerprint: must be 64 lowercase hex characters/);
      fails({ ...wire(), fingerprint: 1 }, /fingerprint: expected a string, got number/);
    });

    it('an unknown type', () => {
      fails({ ...wire(), type: 'vm' }, /type: must be one of container, virtual-machine, got "vm"/);
    });

    it('a bad architecture: empty, too long, control characters', () => {
      fails({ ...wire(), architecture: '' }, /architecture: must not be empty/);
      fails({ ...wire(), architecture: 'x'.repeat(65) }, /architecture: longer than 64 characters \(65\)/);
      fails({ ...wire(), architecture: 'x86_64\n' }, /architecture: must not contain control characters/);
    });

    it('a created date that is not an ISO 8601 UTC timestamp', () => {
      for (const created of [
        '2026-11-28',
        '2026-11-28T00:00:00',
        '2026-11-28T00:00:00+00:00',
        '2026-11-28 00:00:00Z',
        '2026-13-01T00:00:00Z',
        '2026-02-29T00:00:00Z',
        '2100-02-29T00:00:00Z',
        '2026-11-31T00:00:00Z',
        '2026-11-28T24:00:00Z',
        '2026-11-28T00:00:60Z',
        '2026-11-28T00:00:00.Z',
        '2026-11-28T00:00:00.1234567890Z',
        '2026-11-28T00:00:00z',
      ]) {
        fails({ ...wire(), created }, /created: must be an ISO 8601 UTC timestamp/);
      }
      for (const created of ['2000-02-29T12:34:56Z', '2026-11-28T00:00:00.5Z']) {
        assert.equal(decodeWire({ ...wire(), created }).created, created);
      }
    });

    it('public that is not a boolean', () => {
      fails({ ...wire(), public: 'false' }, /public: expected a boolean, got string/);
    });

    it('properties: a non-string value, not an object, limits, a lone surrogate', () => {
      const o = wire();
      o.properties.serial = 20261128;
      fails(o, /properties\.serial: expected a string, got number/);
      fails({ ...wire(), properties: [] }, /properties: expected an object of strings, got array/);
      fails({ ...wire(), properties: Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`k${i}`, 'v'])) }, /properties: at most 256 properties, got 257/);
      fails({ ...wire(), properties: { ['k'.repeat(129)]: 'v' } }, /key longer than 128 characters \(129\)/);
      fails({ ...wire(), properties: { '': 'v' } }, /properties: a key is empty/);
      fails({ ...wire(), properties: { 'image.os': 'x'.repeat(4097) } }, /properties\["image\.os"\]: longer than 4096 characters \(4097\)/);
      assertFails(
        () => decodeManifest(GOLDEN_JSON.replace('"os":"debian"', '"os":"deb\\ud800ian"')),
        'MALFORMED_MANIFEST',
        /properties\.os: not well-formed Unicode/,
      );
    });

    it('files that is not an array, or an entry that is not an object', () => {
      fails({ ...wire(), files: {} }, /files: expected an array, got object/);
      fails({ ...wire(), files: [...wire().files, 'rootfs'] }, /files\[2\]: expected an object, got string/);
    });

    it('missing metadata', () => {
      const o = wire();
      o.files.shift();
      fails(o, /files: missing the metadata file of a container image/);
    });

    it('a container without rootfs', () => {
      const o = wire();
      o.files.pop();
      fails(o, /files: missing the rootfs file of a container image/);
    });

    it('a unified file beside any other file, or twice', () => {
      const unified = JSON.parse(GOLDEN_UNIFIED_JSON) as Wire;
      const file = unified.files[0]!;
      fails({ ...wire(), files: [...wire().files, file] }, /files\[2\]\.role: a unified image is its unified file alone, with no other file/);
      fails({ ...unified, files: [file, wire().files[0]] }, /files\[1\]\.role: a unified image is its unified file alone, with no other file/);
      fails({ ...unified, files: [file, file] }, /files\[1\]\.role: duplicate role unified/);
      fails({ ...unified, files: [] }, /files: missing the metadata file of a container image/);
    });

    it('a duplicate role', () => {
      const o = wire();
      o.files.push({ ...o.files[0]! });
      fails(o, /files\[2\]\.role: duplicate role metadata/);
    });

    it('rootfs in a virtual-machine image, rootfs.img in a container', () => {
      fails({ ...wire(), type: 'virtual-machine' }, /files\[1\]\.role: a virtual-machine image has no rootfs file \(it uses rootfs\.img\)/);
      const o = wire();
      o.files[1]!.role = 'rootfs.img';
      fails(o, /files\[1\]\.role: a container image has no rootfs\.img file \(it uses rootfs\)/);
      const p = wire();
      p.files[1]!.role = 'kernel';
      fails(p, /files\[1\]\.role: must be one of metadata, rootfs, rootfs\.img, unified, got "kernel"/);
    });

    it('base64 that is not canonical strict base64', () => {
      const good = wire().files[1]!.index as string;
      const cases: [string, RegExp][] = [
        [`${good.slice(0, 76)}\n${good.slice(76)}`, /not strict base64/], // a line break
        [good.replace(/\//g, '_'), /not strict base64/], // URL-safe alphabet
        [`${good}====`, /not strict base64/],
        ['TQ', /not strict base64/], // padding dropped
        ['TQ=', /not strict base64/],
        ['TQ==TQ==', /not strict base64/], // padding in the middle
        ['TQ==', /malformed chunk index: truncated/], // the control case: valid base64, too short an index
        ['TR==', /not canonical base64 \(non-zero padding bits\)/], // "TQ==" with stray bits
      ];
      for (const [index, pattern] of cases) {
        if (index === good) continue; // a replacement that found nothing to replace tests nothing
        const o = wire();
        o.files[1]!.index = index;
        fails(o, new RegExp(`files\\[1\\]\\.index: ${pattern.source}`));
      }
      assert.ok(good.includes('/'), 'the URL-safe case needs a "/" to replace');
    });

    it('an index that does not decode, keeping the MalformedIndexError as cause', () => {
      const o = wire();
      const bytes = Buffer.from(o.files[1]!.index as string, 'base64');
      bytes[70]! ^= 1;
      o.files[1]!.index = bytes.toString('base64');
      const err = fails(o, /files\[1\]\.index: malformed chunk index: checksum mismatch/);
      assert.ok(err.cause instanceof MalformedIndexError);
    });

    it('a size that does not match the index', () => {
      const o = wire();
      o.files[1]!.size = 3001;
      fails(o, /files\[1\]\.size: 3001 but the index says 3000 \(sizes don't add up\)/);
      const p = wire();
      p.files[0]!.size = -1;
      fails(p, /files\[0\]\.size: expected a non-negative integer, got -1/);
      const q = wire();
      q.files[0]!.size = '500';
      fails(q, /files\[0\]\.size: expected a non-negative integer, got "500"/);
    });

    it('a sha256 that does not match the index', () => {
      const o = wire();
      o.files[0]!.sha256 = 'de'.repeat(32);
      fails(o, new RegExp(`files\\[0\\]\\.sha256: ${'de'.repeat(32)} but the index says ${'dd'.repeat(32)}`));
      const p = wire();
      p.files[0]!.sha256 = 'DD'.repeat(32);
      fails(p, /files\[0\]\.sha256: must be 64 lowercase hex characters/);
    });

    it(`oversized input (over MAX_MANIFEST_BYTES = ${MAX_MANIFEST_BYTES}), before parsing`, () => {
      assert.equal(MAX_MANIFEST_BYTES, 64 * 1024 * 1024);
      // Valid JSON when padded with spaces, so only the size can be the reason.
      const bytes = Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20);
      bytes.write(GOLDEN_JSON);
      assertFails(() => decodeManifest(bytes), 'MALFORMED_MANIFEST', /manifest is 67108865 bytes, over the 67108864-byte limit/);
      assertFails(() => decodeManifest(bytes.toString('latin1')), 'MALFORMED_MANIFEST', /manifest is at least 67108865 bytes, over/);
      // Fewer UTF-16 units than the limit, more UTF-8 bytes.
      const wide = GOLDEN_JSON.replace('"os":"debian"', `"os":"${'é'.repeat(4000)}"`) + ' '.repeat(MAX_MANIFEST_BYTES - GOLDEN_JSON.length - 4000);
      assert.ok(wide.length < MAX_MANIFEST_BYTES);
      const wideBytes = Buffer.byteLength(wide);
      assert.ok(wideBytes > MAX_MANIFEST_BYTES);
      assertFails(() => decodeManifest(wide), 'MALFORMED_MANIFEST', new RegExp(`manifest is ${wideBytes} bytes, over the 67108864-byte limit`));
    });

    it('something that is neither bytes nor a string', () => {
      assertFails(() => decodeManifest({} as unknown as string), 'MALFORMED_MANIFEST', /expected bytes or a string, got object/);
    });
  });
});
