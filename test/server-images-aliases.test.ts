import assert from 'node:assert/strict';
import { get } from 'node:http';
import { ChunkServerClient } from '@lxchunk/client';
import { MANIFEST_DICT_MEDIA_TYPE } from '@lxchunk/format';
import { Decompressor } from 'zstd-napi';
import { http } from './helpers/http.js';
import { makeImage, type ImageFixture } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

async function uploadChunks(server: ServerProcess, token: string, image: ImageFixture, skip = 0): Promise<void> {
  for (const [id, bytes] of [...image.chunks].slice(skip)) {
    const put = await http(server.url, 'PUT', `/v1/chunks/${id}`, { token, body: bytes });
    assert.ok(put.status === 201 || put.status === 200);
  }
}

describe('server: images and aliases (real server process)', () => {
  let server: ServerProcess;
  let push: string;
  let read: string;
  let admin: string;
  let v1: ImageFixture;
  let v2: ImageFixture;
  let secret: ImageFixture;

  before(async () => {
    // debug: the log says when a request arrived, so a test can act while a long-poll waits.
    server = await startServer(['--no-fsync', '--log-level', 'debug']);
    [push, read, admin] = await Promise.all([server.token('push'), server.token('read'), server.token('admin')]);
    v1 = await makeImage({ seed: 21, public: true });
    v2 = await makeImage({ seed: 22, public: true, shareWith: v1, properties: { os: 'debian', release: 'trixie' } });
    secret = await makeImage({ seed: 23, public: false });
  });
  after(async () => server.destroy());

  describe('manifests', () => {
    it('are refused, listing the ids, while referenced chunks are missing; accepted once they are there', async () => {
      await uploadChunks(server, push, v1, 2);
      const refused = await http(server.url, 'PUT', `/v1/images/${v1.fingerprint}`, { token: push, body: v1.manifestBytes });
      assert.equal(refused.status, 422);
      assert.equal(refused.json.error.code, 'CHUNKS_MISSING');
      assert.deepEqual(new Set(refused.json.error.details.missing), new Set([...v1.chunks.keys()].slice(0, 2)));
      assert.equal(refused.json.error.details.count, 2);
      assert.equal((await http(server.url, 'GET', `/v1/images/${v1.fingerprint}`)).status, 404);

      await uploadChunks(server, push, v1);
      const created = await http(server.url, 'PUT', `/v1/images/${v1.fingerprint}`, { token: push, body: v1.manifestBytes });
      assert.equal(created.status, 201);
      const again = await http(server.url, 'PUT', `/v1/images/${v1.fingerprint}`, { token: push, body: v1.manifestBytes });
      assert.equal(again.status, 200);
      const got = await http(server.url, 'GET', `/v1/images/${v1.fingerprint}`);
      assert.equal(got.status, 200);
      assert.ok(got.body.equals(v1.manifestBytes), 'the manifest comes back byte for byte');
    });

    it('are sent zstd-compressed to clients that accept it, byte-exact once decompressed', async () => {
      // node:http, not fetch: the test must see the body exactly as it crossed the wire.
      const raw = (acceptEncoding?: string) =>
        new Promise<{ encoding: string | undefined; vary: string | undefined; body: Buffer }>((resolve, reject) => {
          const headers = acceptEncoding ? { 'accept-encoding': acceptEncoding } : {};
          get(`${server.url}/v1/images/${v1.fingerprint}`, { headers }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (part: Buffer) => parts.push(part));
            res.on('end', () => resolve({ encoding: res.headers['content-encoding'], vary: res.headers.vary, body: Buffer.concat(parts) }));
          }).on('error', reject);
        });
      const compressed = await raw('gzip, zstd');
      assert.equal(compressed.encoding, 'zstd');
      assert.match(compressed.vary ?? '', /accept-encoding/i);
      assert.ok(compressed.body.length < v1.manifestBytes.length * 0.9, `${compressed.body.length} of ${v1.manifestBytes.length} bytes`);
      assert.ok(Buffer.from(new Decompressor().decompress(compressed.body)).equals(v1.manifestBytes));
      for (const identity of [undefined, 'gzip', 'zstd;q=0']) {
        const plain = await raw(identity);
        assert.equal(plain.encoding, undefined, `Accept-Encoding: ${identity}`);
        assert.ok(plain.body.equals(v1.manifestBytes));
      }
      const client = new ChunkServerClient({ url: server.url });
      try {
        const { bytes } = await client.getManifest(v1.fingerprint);
        assert.ok(Buffer.from(bytes).equals(v1.manifestBytes));
        assert.ok(client.bytesReceived < v1.manifestBytes.length * 0.9, `the client received ${client.bytesReceived} bytes`);
      } finally {
        await client.close();
      }
    });

    it('are immutable: another manifest under the same fingerprint is a 409 conflict', async () => {
      const altered = JSON.parse(Buffer.from(v1.manifestBytes).toString('utf8'));
      altered.properties = { os: 'debian', release: 'changed' };
      const result = await http(server.url, 'PUT', `/v1/images/${v1.fingerprint}`, { token: push, body: JSON.stringify(altered) });
      assert.equal(result.status, 409);
      assert.equal(result.json.error.code, 'CONFLICT');
      assert.ok((await http(server.url, 'GET', `/v1/images/${v1.fingerprint}`)).body.equals(v1.manifestBytes));
    });

    it('refuse bad input with a clear error and change nothing', async () => {
      const text = Buffer.from(v2.manifestBytes).toString('utf8');
      const parsed = JSON.parse(text);
      const cases: Array<[string, string | Uint8Array, number, string]> = [
        ['malformed JSON', text.slice(0, -5), 422, 'MALFORMED_MANIFEST'],
        ['unknown field', JSON.stringify({ ...parsed, extra: true }), 422, 'MALFORMED_MANIFEST'],
        ['inconsistent sizes', JSON.stringify({ ...parsed, files: [parsed.files[0], { ...parsed.files[1], size: parsed.files[1].size + 1 }] }), 422, 'MALFORMED_MANIFEST'],
        ['another fingerprint', Buffer.from(v1.manifestBytes), 400, 'INVALID_INPUT'],
        ['empty body', '', 422, 'MALFORMED_MANIFEST'],
      ];
      for (const [name, body, status, code] of cases) {
        const result = await http(server.url, 'PUT', `/v1/images/${v2.fingerprint}`, { token: push, body });
        assert.equal(result.status, status, name);
        assert.equal(result.json.error.code, code, name);
      }
      assert.equal((await http(server.url, 'PUT', `/v1/images/not-a-fingerprint`, { token: push, body: text })).json.error.code, 'INVALID_ID');
      assert.equal((await http(server.url, 'PUT', `/v1/images/${v2.fingerprint}`, { token: read, body: text })).status, 403);
      assert.equal((await http(server.url, 'GET', `/v1/images/${v2.fingerprint}`, { token: read })).status, 404);
    });

    it('private images are invisible to anonymous callers, visible to read tokens', async () => {
      await uploadChunks(server, push, secret);
      assert.equal((await http(server.url, 'PUT', `/v1/images/${secret.fingerprint}`, { token: push, body: secret.manifestBytes })).status, 201);
      const anonymous = await http(server.url, 'GET', `/v1/images/${secret.fingerprint}`);
      assert.equal(anonymous.status, 404);
      assert.equal(anonymous.json.error.code, 'IMAGE_NOT_FOUND');
      assert.equal((await http(server.url, 'GET', `/v1/images/${secret.fingerprint}`, { token: read })).status, 200);
      const publicList = await http(server.url, 'GET', '/v1/images');
      assert.ok(!publicList.json.images.some((i: { fingerprint: string }) => i.fingerprint === secret.fingerprint));
      const fullList = await http(server.url, 'GET', '/v1/images', { token: read });
      assert.ok(fullList.json.images.some((i: { fingerprint: string }) => i.fingerprint === secret.fingerprint));
    });
  });

  describe('aliases', () => {
    before(async () => {
      await uploadChunks(server, push, v2);
      assert.equal((await http(server.url, 'PUT', `/v1/images/${v2.fingerprint}`, { token: push, body: v2.manifestBytes })).status, 201);
    });

    it('manifests are compressed against a base manifest the client names and holds, and say so', async () => {
      const raw = (query: string, token?: string) =>
        new Promise<{ status: number | undefined; encoding: string | undefined; base: string | undefined; body: Buffer }>((resolve, reject) => {
          const headers: Record<string, string> = { 'accept-encoding': 'zstd', accept: `${MANIFEST_DICT_MEDIA_TYPE}, application/json` };
          if (token) headers.authorization = `Bearer ${token}`;
          get(`${server.url}/v1/images/${v2.fingerprint}${query}`, { headers }, (res) => {
            const parts: Buffer[] = [];
            res.on('data', (part: Buffer) => parts.push(part));
            res.on('end', () =>
              resolve({ status: res.statusCode, encoding: res.headers['content-encoding'], base: res.headers['lxchunk-manifest-base'] as string | undefined, body: Buffer.concat(parts) }),
            );
          }).on('error', reject);
        });
      const plain = await raw('');
      const based = await raw(`?base=${v1.fingerprint}`);
      assert.equal(based.base, v1.fingerprint);
      assert.equal(based.encoding, undefined, 'the dictionary form is a media type of its own, not a content coding');
      assert.ok(based.body.length < plain.body.length / 2, `${based.body.length} bytes against the base, ${plain.body.length} without`);
      const decompressor = new Decompressor();
      decompressor.loadDictionary(v1.manifestBytes);
      assert.ok(Buffer.from(decompressor.decompress(based.body)).equals(v2.manifestBytes));

      // An unknown base, or one the caller may not read, is ignored: plain zstd, no header.
      for (const [query, token] of [[`?base=${'0'.repeat(64)}`, undefined], [`?base=${secret.fingerprint}`, undefined]] as const) {
        const ignored = await raw(query, token);
        assert.equal(ignored.status, 200);
        assert.equal(ignored.base, undefined, query);
        assert.ok(Buffer.from(new Decompressor().decompress(ignored.body)).equals(v2.manifestBytes));
      }
      assert.equal((await raw(`?base=${secret.fingerprint}`, read)).base, secret.fingerprint);
      assert.equal((await raw('?base=nothex')).status, 400);
      assert.equal((await raw(`?base=${v1.fingerprint}&base=${v1.fingerprint}`)).status, 400);

      const client = new ChunkServerClient({ url: server.url });
      try {
        const got = await client.getManifest(v2.fingerprint, { base: { fingerprint: v1.fingerprint, bytes: v1.manifestBytes } });
        assert.equal(got.base, v1.fingerprint);
        assert.ok(Buffer.from(got.bytes).equals(v2.manifestBytes));
        // A base that is not byte-exact fails the frame's checksum where the frame used the damaged
        // bytes: a protocol error, never a wrong manifest.
        const damaged = Buffer.from(v1.manifestBytes);
        for (let i = 200; i < damaged.length; i += 97) damaged[i] = damaged[i]! ^ 1;
        await assert.rejects(client.getManifest(v2.fingerprint, { base: { fingerprint: v1.fingerprint, bytes: damaged } }), { code: 'PROTOCOL_ERROR' });
      } finally {
        await client.close();
      }
    });

    it('need a compare-and-swap precondition (428 without one)', async () => {
      const result = await http(server.url, 'PUT', '/v1/aliases/debian/12', { token: push, body: { target: v1.fingerprint } });
      assert.equal(result.status, 428);
      assert.equal(result.json.error.code, 'PRECONDITION_REQUIRED');
    });

    it('are created with If-None-Match: *, moved with If-Match, and a stale writer gets 412 with the current state', async () => {
      const created = await http(server.url, 'PUT', '/v1/aliases/debian/12', { token: push, body: { target: v1.fingerprint }, headers: { 'if-none-match': '*' } });
      assert.equal(created.status, 201);
      assert.equal(created.json.version, 1);
      const again = await http(server.url, 'PUT', '/v1/aliases/debian/12', { token: push, body: { target: v2.fingerprint }, headers: { 'if-none-match': '*' } });
      assert.equal(again.status, 412);
      assert.deepEqual(again.json.error.details.current, { target: v1.fingerprint, version: 1 });
      const moved = await http(server.url, 'PUT', '/v1/aliases/debian/12', { token: push, body: { target: v2.fingerprint }, headers: { 'if-match': '"1"' } });
      assert.equal(moved.status, 200);
      assert.equal(moved.json.version, 2);
      const stale = await http(server.url, 'PUT', '/v1/aliases/debian/12', { token: push, body: { target: v1.fingerprint }, headers: { 'if-match': '"1"' } });
      assert.equal(stale.status, 412);
      assert.equal(stale.json.error.code, 'PRECONDITION_FAILED');
      const got = await http(server.url, 'GET', '/v1/aliases/debian/12');
      assert.equal(got.json.target, v2.fingerprint);
      assert.equal(got.headers.get('etag'), '"2"');
      const history = await http(server.url, 'GET', '/v1/aliases/debian/12/history');
      assert.deepEqual(history.json.history.map((h: { target: string }) => h.target), [v2.fingerprint, v1.fingerprint]);
    });

    it('race safely: of 10 concurrent moves from the same version exactly one wins', async () => {
      const current = (await http(server.url, 'GET', '/v1/aliases/debian/12')).json;
      const targets = [v1.fingerprint, v2.fingerprint];
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          http(server.url, 'PUT', '/v1/aliases/debian/12', { token: push, body: { target: targets[i % 2] }, headers: { 'if-match': `"${current.version}"` } }),
        ),
      );
      const winners = results.filter((r) => r.status === 200);
      // Writers naming the current target succeed as no-ops; of those that move it, one wins.
      const movers = results.filter((_, i) => targets[i % 2] !== current.target);
      assert.equal(movers.filter((r) => r.status === 200).length, 1);
      assert.ok(results.every((r) => r.status === 200 || r.status === 412));
      assert.ok(winners.length >= 1);
      const after = (await http(server.url, 'GET', '/v1/aliases/debian/12')).json;
      assert.equal(after.version, current.version + 1);
    });

    it('refuse bad names, bad targets and bad bodies', async () => {
      const headers = { 'if-none-match': '*' };
      const cases: Array<[string, unknown, number, string]> = [
        ['/v1/aliases/bad%20name', { target: v1.fingerprint }, 400, 'INVALID_INPUT'],
        ['/v1/aliases/a%2F..%2Fb', { target: v1.fingerprint }, 400, 'INVALID_INPUT'],
        ['/v1/aliases/ok', { target: 'nope' }, 400, 'INVALID_ID'],
        ['/v1/aliases/ok', { target: 'ab'.repeat(32) }, 404, 'IMAGE_NOT_FOUND'],
        ['/v1/aliases/ok', { target: v1.fingerprint, color: 'red' }, 400, 'INVALID_INPUT'],
      ];
      for (const [path, body, status, code] of cases) {
        const result = await http(server.url, 'PUT', path, { token: push, body: body as object, headers });
        assert.equal(result.status, status, path);
        assert.equal(result.json.error.code, code, path);
      }
      assert.equal((await http(server.url, 'GET', '/v1/aliases/ok')).status, 404);
    });

    it('filter image lists by alias and property', async () => {
      const byAlias = await http(server.url, 'GET', '/v1/images?alias=debian/12');
      assert.deepEqual(byAlias.json.images.map((i: { fingerprint: string }) => i.fingerprint), [(await http(server.url, 'GET', '/v1/aliases/debian/12')).json.target]);
      const byProperty = await http(server.url, 'GET', '/v1/images?property.release=trixie');
      assert.deepEqual(byProperty.json.images.map((i: { fingerprint: string }) => i.fingerprint), [v2.fingerprint]);
      assert.equal((await http(server.url, 'GET', '/v1/images?color=red')).status, 400);
    });

    it('an alias to a private image is hidden from anonymous callers', async () => {
      assert.equal((await http(server.url, 'PUT', '/v1/aliases/secret', { token: push, body: { target: secret.fingerprint }, headers: { 'if-none-match': '*' } })).status, 201);
      assert.equal((await http(server.url, 'GET', '/v1/aliases/secret')).status, 404);
      assert.equal((await http(server.url, 'GET', '/v1/aliases/secret', { token: read })).status, 200);
      const names = (await http(server.url, 'GET', '/v1/aliases')).json.aliases.map((a: { name: string }) => a.name);
      assert.ok(names.includes('debian/12') && !names.includes('secret'));
    });

    it('the change feed long-polls: it wakes when an alias moves', async () => {
      const start = (await http(server.url, 'GET', '/v1/changes')).json.seq;
      const arrivals = () => (server.stderr().match(/"path":"\/v1\/changes","msg":"request received"/g) ?? []).length;
      const before = arrivals();
      const waiting = http(server.url, 'GET', `/v1/changes?since=${start}&wait=20`);
      // The alias moves once the server holds the long-poll (its arrival is logged), so it must wake.
      await server.waitForStderr(new RegExp(`("path":"\\/v1\\/changes","msg":"request received"[\\s\\S]*){${before + 1}}`));
      const current = (await http(server.url, 'GET', '/v1/aliases/debian/12')).json;
      const target = current.target === v1.fingerprint ? v2.fingerprint : v1.fingerprint;
      await http(server.url, 'PUT', '/v1/aliases/debian/12', { token: push, body: { target }, headers: { 'if-match': `"${current.version}"` } });
      const woke = await waiting;
      assert.equal(woke.status, 200);
      assert.deepEqual(
        woke.json.changes.map((c: { alias: string; target: string; version: number }) => [c.alias, c.target, c.version]),
        [['debian/12', target, current.version + 1]],
      );
      assert.ok(woke.json.seq > start);
      const idle = await http(server.url, 'GET', `/v1/changes?since=${woke.json.seq}&wait=0`);
      assert.deepEqual(idle.json, { seq: woke.json.seq, changes: [] });
      assert.equal((await http(server.url, 'GET', '/v1/changes?since=-1')).status, 400);
    });

    it('the change feed shows an anonymous follower a public alias being deleted, never a hidden one', async () => {
      const start = (await http(server.url, 'GET', '/v1/changes')).json.seq;
      for (const [name, target] of [['gone/public', v1.fingerprint], ['gone/secret', secret.fingerprint]] as const) {
        assert.equal((await http(server.url, 'PUT', `/v1/aliases/${name}`, { token: push, body: { target }, headers: { 'if-none-match': '*' } })).status, 201);
        assert.equal((await http(server.url, 'DELETE', `/v1/aliases/${name}`, { token: push })).status, 204);
      }
      const seen = async (token?: string) =>
        (await http(server.url, 'GET', `/v1/changes?since=${start}&wait=0`, token ? { token } : {})).json.changes.map(
          (c: { alias: string; target: string | null; version: number }) => [c.alias, c.target, c.version],
        );
      assert.deepEqual(await seen(), [
        ['gone/public', v1.fingerprint, 1],
        ['gone/public', null, 1],
      ]);
      assert.deepEqual(await seen(read), [
        ['gone/public', v1.fingerprint, 1],
        ['gone/public', null, 1],
        ['gone/secret', secret.fingerprint, 1],
        ['gone/secret', null, 1],
      ]);
    });

    it('the history of an alias hidden from the caller answers exactly as that of an alias that does not exist', async () => {
      // Public first, then moved to a private image: its past is public, its present is not.
      await http(server.url, 'PUT', '/v1/aliases/hidden/now', { token: push, body: { target: v1.fingerprint }, headers: { 'if-none-match': '*' } });
      await http(server.url, 'PUT', '/v1/aliases/hidden/now', { token: push, body: { target: secret.fingerprint }, headers: { 'if-match': '"1"' } });
      const answer = async (name: string) => {
        const result = await http(server.url, 'GET', `/v1/aliases/${name}/history`);
        return { status: result.status, body: result.body.toString('utf8').replaceAll(name, 'NAME') };
      };
      assert.deepEqual(await answer('hidden/now'), await answer('never/was'));
      assert.equal((await answer('never/was')).status, 404);
      const privileged = await http(server.url, 'GET', '/v1/aliases/hidden/now/history', { token: read });
      assert.deepEqual(privileged.json.history.map((h: { target: string }) => h.target), [secret.fingerprint, v1.fingerprint]);
      // Deleted, it does not exist for anyone; only a caller who may read everything sees its past.
      assert.equal((await http(server.url, 'DELETE', '/v1/aliases/hidden/now', { token: push })).status, 204);
      assert.deepEqual(await answer('hidden/now'), await answer('never/was'));
      assert.equal((await http(server.url, 'GET', '/v1/aliases/hidden/now/history', { token: read })).json.history.length, 2);
    });

    it('images in use cannot be deleted; deleting needs admin', async () => {
      assert.equal((await http(server.url, 'DELETE', `/v1/images/${secret.fingerprint}`, { token: push })).status, 403);
      const inUse = await http(server.url, 'DELETE', `/v1/images/${secret.fingerprint}`, { token: admin });
      assert.equal(inUse.status, 409);
      assert.equal(inUse.json.error.code, 'IMAGE_IN_USE');
      assert.equal((await http(server.url, 'DELETE', '/v1/aliases/secret', { token: push })).status, 204);
      assert.equal((await http(server.url, 'DELETE', `/v1/images/${secret.fingerprint}`, { token: admin })).status, 204);
      assert.equal((await http(server.url, 'GET', `/v1/images/${secret.fingerprint}`, { token: read })).status, 404);
    });
  });
});
