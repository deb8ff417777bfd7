import assert from 'node:assert/strict';
import { cp, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkServerClient } from '@lxchunk/client';
import { BATCH_CONTENT_TYPE, ChunkBatchDecoder, FrameStatus, decodeDeltaChunk, parseDeltaPayload, type ChunkFrame } from '@lxchunk/format';
import { ReplacedChunks, fetchManifest, pullImage } from '@lxchunk/sync';
import { http } from './helpers/http.js';
import { serverMetric as metric } from './helpers/server-metric.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

interface PullJson {
  fingerprint: string;
  bytesFetched: number;
  chunksAsDeltas: number;
  blocksRebuilt: number;
  rebuildFallbacks: number;
}

const FILES = 160;
const PROFILES = [
  { name: 'stock', options: { stock: true } },
  { name: '-no-fragments', options: {} },
] as const;

/** POST /v1/chunks/fetch as is: the frames, each with its status and payload. */
async function fetchFrames(server: ServerProcess, body: object, token?: string): Promise<{ raw: Buffer; frames: Array<{ id: string; status: number; payload: Buffer }> }> {
  const response = await http(server.url, 'POST', '/v1/chunks/fetch', { body, ...(token ? { token } : {}), headers: { accept: BATCH_CONTENT_TYPE, 'accept-encoding': 'zstd' } });
  assert.equal(response.status, 200, response.body.toString());
  const frames: Array<{ id: string; status: number; payload: Buffer }> = [];
  const decoder = new ChunkBatchDecoder();
  decoder.push(response.body, (frame: ChunkFrame) => frames.push({ id: frame.id, status: frame.status, payload: Buffer.from(frame.payload) }));
  decoder.finish();
  return { raw: response.body, frames };
}

describe('chunks as deltas against the chunks they replaced (real server, real mksquashfs images)', function () {
  this.timeout(300_000);
  let work: string;
  let server: ServerProcess;
  let pushEnv: NodeJS.ProcessEnv;
  let readToken: string;
  const pairs: Array<{ v1: LxdImageFiles; v2: LxdImageFiles }> = [];

  const pull = async (target: ServerProcess, token: string, ref: string, out: string, ...extra: string[]) => {
    const result = await runChunk(['pull', '--json', ref, '--out', out, ...extra], { env: { LXCHUNK_SERVER: target.url, LXCHUNK_TOKEN: token } });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PullJson;
  };
  const sameBytes = async (a: string, b: string) => assert.ok((await readFile(a)).equals(await readFile(b)), `${a} differs from ${b}`);

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-deltas-'));
    server = await startServer(['--no-fsync']);
    pushEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    readToken = await server.token('read');
    for (const [i, profile] of PROFILES.entries()) {
      const v1 = await buildLxdImage(join(work, `p${i}`, 'v1'), { seed: 60 + i, serial: '1', files: FILES, ...profile.options });
      const v2 = await buildLxdImage(join(work, `p${i}`, 'v2'), { seed: 60 + i, serial: '2', from: v1, change: 12, changeLarge: 4, ...profile.options });
      // v1 private (the default), v2 public: the access test below needs both kinds.
      for (const [image, extra] of [[v1, []], [v2, ['--public']]] as const) {
        const pushed = await runChunk(['push', '--json', '--alias', `delta/${i}`, ...extra, image.metadata, image.rootfs], { env: pushEnv });
        assert.equal(pushed.code, 0, pushed.stderr);
      }
      pairs.push({ v1, v2 });
    }
  });
  after(async () => {
    await server?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const [i, profile] of PROFILES.entries()) {
    it(`${profile.name}: a nightly pulled with deltas is byte-exact and fetches less than without`, async () => {
      const { v1, v2 } = pairs[i]!;
      const seeds = ['--seed', v1.rootfs, '--seed', v1.metadata];
      const servedBefore = await metric(server, 'lxchunk_deltas_served_total');
      const plain = await pull(server, readToken, `delta/${i}`, join(work, `p${i}`, 'out-plain'), '--prefer', 'bytes', '--no-deltas', ...seeds);
      const deltas = await pull(server, readToken, `delta/${i}`, join(work, `p${i}`, 'out-deltas'), '--prefer', 'bytes', ...seeds);
      for (const out of ['out-plain', 'out-deltas']) {
        await sameBytes(join(work, `p${i}`, out, `${v2.fingerprint}.rootfs`), v2.rootfs);
        await sameBytes(join(work, `p${i}`, out, v2.fingerprint), v2.metadata);
      }
      assert.equal(plain.chunksAsDeltas, 0);
      assert.ok(deltas.chunksAsDeltas > 0, JSON.stringify(deltas));
      let alsoServed = 0;
      if (i === 0) {
        // Stock: the changed files' content comes as deltas against their old versions.
        assert.ok(deltas.bytesFetched < plain.bytesFetched, `with deltas ${JSON.stringify(deltas)}, without ${JSON.stringify(plain)}`);
      } else {
        // -no-fragments: these random files' appended blocks are stored uncompressed, and their
        // compressed-path chunks come as deltas. (Which blocks --prefer bytes rebuilds rests on
        // an estimate of what deltas will cost, so that pull is compared with the compressed path.)
        const timePlain = await pull(server, readToken, `delta/${i}`, join(work, `p${i}`, 'out-time-plain'), '--prefer', 'time', '--no-deltas', ...seeds);
        const timeDeltas = await pull(server, readToken, `delta/${i}`, join(work, `p${i}`, 'out-time-deltas'), '--prefer', 'time', ...seeds);
        assert.ok(timeDeltas.chunksAsDeltas > 0 && timeDeltas.bytesFetched < timePlain.bytesFetched, `time with deltas ${JSON.stringify(timeDeltas)}, without ${JSON.stringify(timePlain)}`);
        assert.ok(deltas.bytesFetched < timePlain.bytesFetched, `bytes with deltas ${JSON.stringify(deltas)}, time without ${JSON.stringify(timePlain)}`);
        alsoServed = timeDeltas.chunksAsDeltas;
      }
      assert.equal(await metric(server, 'lxchunk_deltas_served_total'), servedBefore + deltas.chunksAsDeltas + alsoServed);
      // The same pull again is answered from the delta cache, at the same cost.
      const hitsBefore = await metric(server, 'lxchunk_delta_cache_hits_total');
      const again = await pull(server, readToken, `delta/${i}`, join(work, `p${i}`, 'out-again'), '--prefer', 'bytes', ...seeds);
      await sameBytes(join(work, `p${i}`, 'out-again', `${v2.fingerprint}.rootfs`), v2.rootfs);
      for (const result of [plain, deltas, again]) assert.equal(result.rebuildFallbacks, 0, JSON.stringify(result));
      assert.equal(again.bytesFetched, deltas.bytesFetched, `again ${JSON.stringify(again)}, first ${JSON.stringify(deltas)}`);
      assert.ok((await metric(server, 'lxchunk_delta_cache_hits_total')) >= hitsBefore + deltas.chunksAsDeltas);
    });
  }

  it('chunk estimate counts the deltas a compressed-path pull gets', async () => {
    const { v1, v2 } = pairs[1]!;
    const pulled = await pull(server, readToken, `delta/1`, join(work, 'estimated'), '--prefer', 'time', '--seed', v1.rootfs);
    const estimate = await runChunk(['estimate', '--json', '--seed', v1.rootfs, v2.rootfs]);
    assert.equal(estimate.code, 0, estimate.stderr);
    const predicted = JSON.parse(estimate.stdout) as { bytesFetched: number; indexBytes: number; chunksAsDeltas: number };
    const plain = JSON.parse((await runChunk(['estimate', '--json', '--no-deltas', '--seed', v1.rootfs, v2.rootfs])).stdout) as { bytesFetched: number };
    assert.ok(pulled.chunksAsDeltas > 0);
    assert.equal(predicted.chunksAsDeltas, pulled.chunksAsDeltas, 'the same bases, the same rule');
    assert.ok(predicted.bytesFetched < plain.bytesFetched);
  });

  it('a base the caller may not read is not used: the answer is byte for byte the one without it', async () => {
    const { v1, v2 } = pairs[0]!;
    const client = new ChunkServerClient({ url: server.url, token: readToken });
    try {
      const [old, next] = [(await fetchManifest(client, v1.fingerprint)).manifest, (await fetchManifest(client, v2.fingerprint)).manifest];
      const oldContent = old.files.find((f) => f.role === 'rootfs')!.content!.index.chunks;
      const nextContent = next.files.find((f) => f.role === 'rootfs')!.content!.index.chunks;
      // Chunks only the private v1 holds: an anonymous caller can read none of them.
      const publicIds = new Set(next.files.flatMap((f) => [...f.index.chunks, ...(f.content?.index.chunks ?? [])].map((c) => c.id)));
      const oldIds = new Set(oldContent.map((c) => c.id));
      const replaced = new ReplacedChunks([oldContent]);
      replaced.plan(nextContent, (id) => !oldIds.has(id));
      const asked = nextContent
        .map((c) => ({ id: c.id, bases: replaced.basesFor(c.id)?.filter((b) => !publicIds.has(b)) ?? [] }))
        .filter((c) => c.bases.length > 0);
      assert.ok(asked.length > 0, 'the nightly has content chunks whose predecessors only v1 holds');
      const ids = asked.map((c) => c.id);
      const bases = Object.fromEntries(asked.map((c) => [c.id, c.bases]));

      // A reader of v1 gets deltas, which decode (with v1's chunks) to exactly the chunks asked for.
      const reader = await fetchFrames(server, { ids, bases }, readToken);
      const deltaFrames = reader.frames.filter((f) => f.status === FrameStatus.delta);
      assert.ok(deltaFrames.length > 0, 'deltas against v1 pay for some of them');
      for (const frame of deltaFrames) {
        const { bases: used, frame: zstd } = parseDeltaPayload(frame.payload);
        const baseBytes = await Promise.all(used.map((id) => client.getChunk(id)));
        assert.equal(decodeDeltaChunk(frame.id, zstd, baseBytes).length, nextContent.find((c) => c.id === frame.id)!.length);
      }

      // Anonymous: the same request is answered exactly as one naming no bases, or absent ones.
      const withBases = await fetchFrames(server, { ids, bases });
      const without = await fetchFrames(server, { ids });
      const absentBases = await fetchFrames(server, { ids, bases: Object.fromEntries(ids.map((id) => [id, ['0f'.repeat(32)]])) });
      assert.ok(without.frames.every((f) => f.status === FrameStatus.zstd || f.status === FrameStatus.identity), 'v2 is public');
      assert.ok(withBases.raw.equals(without.raw), 'private bases change nothing');
      assert.ok(absentBases.raw.equals(without.raw));
    } finally {
      await client.close();
    }
  });

  it('a corrupt local base is detected and its chunk fetched plain; the pull is still exact', async () => {
    const { v1, v2 } = pairs[1]!;
    const client = new ChunkServerClient({ url: server.url, token: readToken });
    try {
      const v1Index = (await fetchManifest(client, v1.fingerprint)).manifest.files.find((f) => f.role === 'rootfs')!.index;
      const honest = await pullImage({ client, ref: v2.fingerprint, outDir: join(work, 'honest'), seeds: [{ path: v1.rootfs, index: v1Index }], prefer: 'time' });
      assert.ok(honest.chunksAsDeltas > 0, 'stored blocks of the appended files come as deltas');
      // The seed as the host holds it: damaged every 4 KiB, while its index still claims the old ids.
      const damaged = join(work, 'damaged.squashfs');
      await cp(v1.rootfs, damaged);
      const file = await open(damaged, 'r+');
      const size = (await file.stat()).size;
      for (let at = 100; at < size; at += 4096) await file.write(Buffer.from([0x5a ^ at % 251]), 0, 1, at);
      await file.close();
      const refetchedBefore = client.deltasRefetched;
      const result = await pullImage({ client, ref: v2.fingerprint, outDir: join(work, 'damaged-out'), seeds: [{ path: damaged, index: v1Index }], prefer: 'time' });
      await sameBytes(join(work, 'damaged-out', `${v2.fingerprint}.rootfs`), v2.rootfs);
      assert.ok(result.corruptLocalChunks > 0);
      assert.ok(client.deltasRefetched > refetchedBefore, 'deltas whose bases are damaged here were fetched plain');
      // Small bases between the damaged bytes are still intact, and used.
      assert.ok(result.chunksAsDeltas < honest.chunksAsDeltas, `${result.chunksAsDeltas} deltas from a damaged seed, ${honest.chunksAsDeltas} from an intact one`);

      // A base source that hands over wrong bytes (against its contract) cannot produce a wrong chunk either.
      const wanted = v2Only(honest.manifest.files.find((f) => f.role === 'rootfs')!.index.chunks, v1Index.chunks);
      const replaced = new ReplacedChunks([v1Index.chunks]);
      replaced.plan(honest.manifest.files.find((f) => f.role === 'rootfs')!.index.chunks, (id) => wanted.has(id));
      const got = new Map<string, Uint8Array>();
      const before = client.deltasRefetched;
      await client.fetchChunks([...wanted], (id, bytes) => void got.set(id, bytes), {
        deltaBases: { basesFor: (id) => replaced.basesFor(id), read: async (id) => Buffer.concat([await client.getChunk(id), Buffer.from('x')]) },
      });
      assert.equal(got.size, wanted.size);
      assert.ok(client.deltasRefetched > before);
    } finally {
      await client.close();
    }
  });

  it('a server that refuses the bases (as one older than deltas refuses the field) is asked again without them', async () => {
    const { v1, v2 } = pairs[1]!;
    const client = new ChunkServerClient({ url: server.url, token: readToken });
    try {
      const next = (await fetchManifest(client, v2.fingerprint)).manifest.files.find((f) => f.role === 'rootfs')!.index.chunks;
      const old = (await fetchManifest(client, v1.fingerprint)).manifest.files.find((f) => f.role === 'rootfs')!.index.chunks;
      const wanted = [...v2Only(next, old)];
      // An id the server cannot take as a base: it answers 400 INVALID_INPUT, as an old server
      // answers any "bases" field.
      const got = new Map<string, Uint8Array>();
      const { missing } = await client.fetchChunks(wanted, (id, bytes) => void got.set(id, bytes), {
        deltaBases: { basesFor: () => ['not-a-chunk-id'], read: async () => undefined },
      });
      assert.deepEqual(missing, []);
      assert.equal(got.size, wanted.length, 'every chunk arrived, plain');
      assert.equal(client.chunksAsDeltas, 0);
    } finally {
      await client.close();
    }
  });

  it('a server that makes no deltas answers plain chunks, and the pull is exact', async () => {
    const plainServer = await startServer(['--no-fsync', '--no-deltas']);
    try {
      const { v1, v2 } = pairs[1]!;
      const env = { LXCHUNK_SERVER: plainServer.url, LXCHUNK_TOKEN: await plainServer.token('push') };
      for (const image of [v1, v2]) assert.equal((await runChunk(['push', '--json', '--alias', 'delta/plain', image.metadata, image.rootfs], { env })).code, 0);
      const out = join(work, 'plain-server');
      const result = await pull(plainServer, await plainServer.token('read'), 'delta/plain', out, '--prefer', 'bytes', '--seed', v1.rootfs);
      await sameBytes(join(out, `${v2.fingerprint}.rootfs`), v2.rootfs);
      assert.equal(result.chunksAsDeltas, 0);
      assert.equal(await metric(plainServer, 'lxchunk_deltas_served_total'), 0);
    } finally {
      await plainServer.destroy();
    }
  });
});

function v2Only(next: ReadonlyArray<{ id: string }>, old: ReadonlyArray<{ id: string }>): Set<string> {
  const oldIds = new Set(old.map((c) => c.id));
  return new Set(next.map((c) => c.id).filter((id) => !oldIds.has(id)));
}
