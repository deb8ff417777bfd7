import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkServerClient, type FetchChunksOptions, type OnChunk } from '@lxchunk/client';
import { chunkOffsets, type ImageManifest } from '@lxchunk/format';
import { mapSquashfs } from '@lxchunk/squashfs';
import { fetchManifest, pullImage } from '@lxchunk/sync';
import { agentOnce, aliasTarget } from './helpers/agent-run.js';
import { useAgentTestbed } from './helpers/agent-testbed.js';
import { buildLxdImage, type LxdImageFiles } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { seeded } from './helpers/image-fixture.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';

interface PushJson {
  fingerprint: string;
  content?: { blocksRebuilt: number; blocksReused: number; blocksKept: number; contentBytes: number; contentChunks: number; cpuSeconds: number };
}
interface PullJson {
  fingerprint: string;
  bytesFetched: number;
  manifestBytes: number;
  blocksRebuilt: number;
  bytesRebuilt: number;
  rebuildCpuSeconds: number;
  contentChunksFetched: number;
  rebuildFallbacks: number;
}

/** Re-encoding every block costs CPU: these trees are smaller than the other suites'. */
const FILES = 160;

const PROFILES = [
  { name: 'stock (fragments)', options: { stock: true } },
  { name: '-no-fragments', options: {} },
  { name: '-Xbcj x86, with real executables', options: { stock: true, mksquashfs: ['-Xbcj', 'x86'], executables: true } },
] as const;

describe('content domain: xz blocks pushed by content, rebuilt on pull (real server, real mksquashfs images)', function () {
  this.timeout(300_000);
  let work: string;
  let server: ServerProcess;
  let pushEnv: NodeJS.ProcessEnv;
  let readEnv: NodeJS.ProcessEnv;

  const push = async (image: LxdImageFiles, ...extra: string[]) => {
    const result = await runChunk(['push', '--json', ...extra, image.metadata, image.rootfs], { env: pushEnv });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PushJson;
  };
  const pull = async (ref: string, out: string, ...extra: string[]) => {
    const result = await runChunk(['pull', '--json', ref, '--out', out, ...extra], { env: readEnv });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as PullJson;
  };
  const sameBytes = async (a: string, b: string) => assert.ok((await readFile(a)).equals(await readFile(b)), `${a} differs from ${b}`);
  // Each profile's pair (a base and its nightly), built and pushed once: later tests reuse the stock one.
  const pairs = new Map<number, Promise<{ v1: LxdImageFiles; v2: LxdImageFiles; pushed1: PushJson; pushed2: PushJson }>>();
  const pair = (i: number) => {
    let built = pairs.get(i);
    if (!built) {
      const profile = PROFILES[i]!;
      const dir = join(work, `profile-${i}`);
      built = (async () => {
        const v1 = await buildLxdImage(join(dir, 'v1'), { seed: 40 + i, serial: '1', files: FILES, ...profile.options });
        const v2 = await buildLxdImage(join(dir, 'v2'), { seed: 40 + i, serial: '2', from: v1, change: 12, changeLarge: 4, ...profile.options });
        // Both under the alias, as CI pushes nightlies: v2's push reuses v1's recipes.
        return { v1, v2, pushed1: await push(v1, '--alias', `content/${i}`), pushed2: await push(v2, '--alias', `content/${i}`) };
      })();
      pairs.set(i, built);
    }
    return built;
  };

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-content-'));
    server = await startServer(['--no-fsync']);
    pushEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('push') };
    readEnv = { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: await server.token('read') };
  });
  after(async () => {
    await server?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const [i, profile] of PROFILES.entries()) {
    it(`${profile.name}: --prefer bytes rebuilds blocks byte for byte and fetches less than --prefer time`, async () => {
      const dir = join(work, `profile-${i}`);
      const { v1, v2, pushed1, pushed2 } = await pair(i);
      for (const pushed of [pushed1, pushed2]) {
        assert.ok(pushed.content && pushed.content.blocksRebuilt > 0, JSON.stringify(pushed.content));
        // Without fragments the random files' blocks stand alone, and mksquashfs stores them
        // uncompressed: those keep to the compressed path.
        if (!('stock' in profile.options)) assert.ok(pushed.content.blocksKept > 0, JSON.stringify(pushed.content));
      }
      // The nightly re-encodes only the blocks that changed: the rest take v1's recipes. (This small
      // stock tree has six blocks, all of which the changes and the new file shift.)
      assert.equal(pushed1.content!.blocksReused, 0);
      assert.ok(pushed2.content!.blocksReused < pushed2.content!.blocksRebuilt, JSON.stringify(pushed2.content));
      if (!('stock' in profile.options)) assert.ok(pushed2.content!.blocksReused > 0, JSON.stringify(pushed2.content));
      const bytes = await pull(`content/${i}`, join(dir, 'out-bytes'), '--prefer', 'bytes', '--seed', v1.rootfs, '--seed', v1.metadata);
      const time = await pull(`content/${i}`, join(dir, 'out-time'), '--prefer', 'time', '--seed', v1.rootfs, '--seed', v1.metadata);
      for (const out of ['out-bytes', 'out-time']) {
        await sameBytes(join(dir, out, `${v2.fingerprint}.rootfs`), v2.rootfs);
        await sameBytes(join(dir, out, v2.fingerprint), v2.metadata);
        assert.deepEqual(await readdir(join(dir, out)), [v2.fingerprint, `${v2.fingerprint}.rootfs`].sort(), 'no staging left');
      }
      assert.equal(time.blocksRebuilt, 0);
      assert.ok(bytes.blocksRebuilt > 0 && bytes.bytesRebuilt > 0 && bytes.rebuildCpuSeconds > 0, JSON.stringify(bytes));
      assert.equal(bytes.rebuildFallbacks, 0, `every planned chunk rebuilt exactly: ${JSON.stringify(bytes)}`);
      // The same manifest both times; what differs is chunks: content and rebuilt blocks against compressed ones.
      assert.ok(bytes.bytesFetched - bytes.manifestBytes < time.bytesFetched - time.manifestBytes, `bytes ${JSON.stringify(bytes)} vs time ${JSON.stringify(time)}`);
    });
  }

  it('inode and directory table chunks are rebuilt from content too (their block headers predicted), not fetched', async () => {
    const { v1, v2 } = await pair(0);
    const client = new RecordingClient({ url: server.url, token: readEnv.LXCHUNK_TOKEN! });
    try {
      const result = await pullImage({ client, ref: v2.fingerprint, outDir: join(work, 'tables'), seeds: [{ path: v1.rootfs }], prefer: 'bytes' });
      await sameBytes(join(work, 'tables', `${v2.fingerprint}.rootfs`), v2.rootfs);
      const rootfs = result.manifest.files.find((f) => f.role === 'rootfs')!;
      const old = new Set((await fetchManifest(client, v1.fingerprint)).manifest.files.flatMap((f) => f.index.chunks.map((c) => c.id)));
      const { inodeTableStart, fragmentTableStart } = (await mapSquashfs(v2.rootfs)).superblock;
      const offsets = chunkOffsets(rootfs.index);
      // The tables' chunks v1 lacks: each lies wholly inside metadata blocks and their headers.
      const tableChunks = rootfs.index.chunks.filter((c, i) => !old.has(c.id) && offsets[i]! >= Number(inodeTableStart) && offsets[i]! + c.length <= Number(fragmentTableStart));
      assert.ok(tableChunks.length > 0, 'the nightly changed the inode table');
      for (const chunk of tableChunks) assert.ok(!client.fetched.has(chunk.id), `table chunk ${chunk.id} was fetched, not rebuilt`);
    } finally {
      await client.close();
    }
  });

  it('a recipe that rebuilds other bytes falls back to the compressed block; the output is still exact', async () => {
    const dir = join(work, 'tampered');
    const { v1, v2 } = await pair(0);
    const client = new ChunkServerClient({ url: server.url, token: readEnv.LXCHUNK_TOKEN! });
    try {
      const fetched = await fetchManifest(client, v2.fingerprint);
      // Every recipe names another dictionary and filter: each block re-encodes to other bytes than stored.
      const tampered: ImageManifest = {
        ...fetched.manifest,
        files: fetched.manifest.files.map((file) =>
          file.content ? { ...file, content: { ...file.content, blocks: file.content.blocks.map((block) => ({ ...block, filter: block.filter === 0 ? 4 : 0, dictSize: block.dictSize === 1 << 20 ? 1 << 19 : 1 << 20 })) } } : file,
        ),
      };
      const pullWith = (manifest: ImageManifest, out: string) =>
        pullImage({ client, ref: v2.fingerprint, outDir: join(dir, out), seeds: [{ path: v1.rootfs }, { path: v1.metadata }], manifest: { ...fetched, manifest }, prefer: 'bytes' });
      const honest = await pullWith(fetched.manifest, 'honest');
      const result = await pullWith(tampered, 'out');
      assert.ok(honest.bytesRebuilt > 0);
      assert.equal(honest.rebuildFallbacks, 0);
      assert.ok(result.rebuildFallbacks > 0, 'the chunks that came out wrong are counted');
      // Parts of a block far from its header can still come out right (a dictionary larger than
      // the content changes only the header); every chunk that did not was fetched instead.
      assert.ok(result.blocksRebuilt > 0, 'blocks were re-encoded');
      assert.ok(result.bytesRebuilt < honest.bytesRebuilt, `${result.bytesRebuilt} bytes rebuilt right with wrong recipes, ${honest.bytesRebuilt} with the right ones`);
      assert.ok(result.chunksFetched > honest.chunksFetched, `${result.chunksFetched} chunks fetched vs ${honest.chunksFetched}`);
      const out = join(dir, 'out');
      await sameBytes(join(out, `${v2.fingerprint}.rootfs`), v2.rootfs);
    } finally {
      await client.close();
    }
  });

  it('a seed that is not a squashfs offers no content, and the pull is still exact', async () => {
    const dir = join(work, 'odd-seed');
    const v1 = await buildLxdImage(join(dir, 'v1'), { seed: 60, serial: '1', files: FILES });
    await push(v1, '--alias', 'content/odd');
    const junk = join(dir, 'junk.bin');
    await writeFile(junk, seeded(3_000_000, 61));
    const result = await pull('content/odd', join(dir, 'out'), '--prefer', 'bytes', '--seed', junk);
    // Nothing local to rebuild from: fetching content would cost more than the compressed blocks.
    assert.equal(result.blocksRebuilt, 0);
    await sameBytes(join(dir, 'out', `${v1.fingerprint}.rootfs`), v1.rootfs);
  });

  it('a pull killed while fetching content resumes: the content it had is kept, the result exact', async () => {
    const dir = join(work, 'resume');
    const { v1, v2 } = await pair(0);
    const out = join(dir, 'out');
    const args = ['pull', '--json', 'content/0', '--out', out, '--prefer', 'bytes', '--seed', v1.rootfs, '--seed', v1.metadata];
    const killed = await runChunk(args, { env: { ...readEnv, LXCHUNK_CRASH_AT: 'pull.fetch:3' } });
    assert.notEqual(killed.code, 0, 'killed at its third fetched chunk');
    const staged = await readdir(out);
    assert.equal(staged.length, 1);
    assert.ok((await readdir(join(out, staged[0]!))).includes('rootfs.content.partial'), 'the content stream is staged beside the outputs');
    const resumed = await pull('content/0', out, '--prefer', 'bytes', '--seed', v1.rootfs, '--seed', v1.metadata);
    assert.ok(resumed.blocksRebuilt > 0);
    await sameBytes(join(out, `${v2.fingerprint}.rootfs`), v2.rootfs);
    assert.deepEqual(await readdir(out), [v2.fingerprint, `${v2.fingerprint}.rootfs`].sort());
  });
});

describe('content domain and deltas: the agent imports a rebuilt image into a real LXD', function () {
  this.timeout(300_000);
  const bed = useAgentTestbed('content-agent');
  const alias = 'content/agent';

  it('rebuilds the next build from the image LXD holds, and LXD accepts it under its fingerprint', async () => {
    const v1 = await buildLxdImage(join(bed.work, 'v1'), { seed: 80, serial: '1', stock: true, files: FILES });
    const v2 = await buildLxdImage(join(bed.work, 'v2'), { seed: 80, serial: '2', from: v1, change: 12, changeLarge: 4, stock: true });
    const args = ['--server', bed.server.url, '--follow', alias, '--cache', join(bed.work, 'agent-cache'), '--lxd-socket', bed.lxd.socketPath];
    await bed.push(v1, alias, { content: true });
    const first = await agentOnce(args, bed.agentEnv);
    assert.equal(first.code, 0, first.stderr);
    await bed.push(v2, alias, { content: true });
    // The default for the agent is --prefer bytes: a fleet shares the server's egress.
    const second = await agentOnce(args, bed.agentEnv);
    assert.equal(second.code, 0, second.stderr);
    const result = second.results[0]! as (typeof second.results)[0] & { blocksRebuilt: number; chunksAsDeltas: number };
    assert.equal(result.action, 'imported');
    assert.ok(result.blocksRebuilt > 0, JSON.stringify(result));
    // The changed files' content came as deltas against their versions in the image LXD held.
    assert.ok(result.chunksAsDeltas > 0, JSON.stringify(result));
    // LXD checked the fingerprint of what it was given: the rebuilt rootfs is v2's, byte for byte.
    assert.equal(await aliasTarget(bed.lxd.lxdDir, alias), v2.fingerprint);

    // `deltas: false` in the config file: the next nightly comes without deltas, still exact.
    const v3 = await buildLxdImage(join(bed.work, 'v3'), { seed: 80, serial: '3', from: v2, change: 12, changeLarge: 4, stock: true });
    await bed.push(v3, alias, { content: true });
    const config = join(bed.work, 'agent.yaml');
    await writeFile(config, 'deltas: false\n');
    const third = await agentOnce([...args, '--config', config], bed.agentEnv);
    assert.equal(third.code, 0, third.stderr);
    const plain = third.results[0]! as (typeof third.results)[0] & { chunksAsDeltas: number };
    assert.equal(plain.action, 'imported');
    assert.equal(plain.chunksAsDeltas, 0, JSON.stringify(plain));
    assert.equal(await aliasTarget(bed.lxd.lxdDir, alias), v3.fingerprint);
  });
});

/** The real client, remembering every chunk id it was asked to fetch. */
class RecordingClient extends ChunkServerClient {
  readonly fetched = new Set<string>();

  override async fetchChunks(ids: readonly string[], onChunk: OnChunk, options?: FetchChunksOptions) {
    for (const id of ids) this.fetched.add(id);
    return super.fetchChunks(ids, onChunk, options);
  }

  override async getChunk(id: string, options?: { signal?: AbortSignal }) {
    this.fetched.add(id);
    return super.getChunk(id, options);
  }
}
