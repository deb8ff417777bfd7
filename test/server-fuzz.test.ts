import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forEachBounded } from '@lxchunk/client';
import { decodeManifest } from '@lxchunk/format';
import { fuzzCase, type FuzzCase, type FuzzTarget } from './helpers/fuzz-cases.js';
import { sendCase, type FuzzAnswer } from './helpers/fuzz-send.js';
import { http } from './helpers/http.js';
import { buildLxdImage } from './helpers/lxd-image.js';
import { runChunk } from './helpers/run-chunk.js';
import { startServer, type ServerProcess } from './helpers/server-process.js';
import { snapshotServer, type ServerSnapshot } from './helpers/server-snapshot.js';

/**
 * Replay: LXCHUNK_FUZZ_SEED=<seed printed by a run> (and LXCHUNK_FUZZ_CASE=<index> for one case);
 * LXCHUNK_FUZZ_CASES sets how many (`pnpm test:fuzz` runs 20000).
 */
const SEED = process.env.LXCHUNK_FUZZ_SEED ? Number(process.env.LXCHUNK_FUZZ_SEED) : randomInt(2 ** 31);
const CASES = Number(process.env.LXCHUNK_FUZZ_CASES ?? 3000);
const ONLY = process.env.LXCHUNK_FUZZ_CASE === undefined ? undefined : Number(process.env.LXCHUNK_FUZZ_CASE);
/** Cases between two comparisons of the stored state (and health checks). */
const BATCH = 250;
const IN_FLIGHT = 4;
/** The fuzzed chunks: the smallest of the image, so bodies stay small and cases many. */
const CHUNKS = 24;
const ALIAS = 'fuzz/base';

interface Finding {
  readonly index: number;
  readonly fuzz: FuzzCase;
  readonly answer: FuzzAnswer;
}

function describeCase(index: number, fuzz: FuzzCase): string {
  const shown = Object.entries(fuzz.headers)
    .filter(([name]) => name !== 'authorization')
    .map(([name, value]) => `${name}: ${value.slice(0, 60)}`);
  const target = fuzz.raw ? JSON.stringify(Buffer.from(fuzz.raw.subarray(0, 120)).toString('latin1')) : `${fuzz.method} ${fuzz.path.slice(0, 140)}`;
  return `#${index} ${target}${shown.length ? ` [${shown.join('; ')}]` : ''}`;
}

/**
 * What tells one failure from another for the report: the kind of raw damage or method, else the
 * declared Content-Encoding (the header behind most body failures); the example shows the rest.
 */
function findingKind(fuzz: FuzzCase): string {
  const family = fuzz.label.split(' ')[0]!;
  if (family === 'raw' || family === 'method') return fuzz.label.split(',')[0]!;
  const encoding = Object.entries(fuzz.headers).find(([name]) => name.toLowerCase() === 'content-encoding')?.[1];
  return encoding === undefined ? family : `${family}, content-encoding: ${encoding}`;
}

describe('server fuzz: mutated requests against a real server with a real pushed image', function () {
  this.timeout(Math.max(600_000, CASES * 200));
  let work: string;
  let server: ServerProcess;
  let target: FuzzTarget;
  let baseline: ServerSnapshot;
  const serverErrors: string[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'lxchunk-fuzz-'));
    server = await startServer(['--no-fsync']);
    // Every 'request failed' line the server logs: the cause behind each 5xx, for the report.
    server.child.stderr!.on('data', (text: string) => {
      for (const line of text.split('\n')) if (line.includes('"request failed"')) serverErrors.push(line);
    });
    const tokens = { read: await server.token('read'), push: await server.token('push'), admin: await server.token('admin') };
    const image = await buildLxdImage(join(work, 'image'), { seed: 23, serial: '20261201' });
    const pushed = await runChunk(['push', '--json', '--no-content', '--alias', ALIAS, image.metadata, image.rootfs], {
      env: { LXCHUNK_SERVER: server.url, LXCHUNK_TOKEN: tokens.push },
    });
    assert.equal(pushed.code, 0, pushed.stderr);
    const manifest = new Uint8Array((await http(server.url, 'GET', `/v1/images/${image.fingerprint}`, { token: tokens.admin })).body);
    const entries = new Map(decodeManifest(manifest).files.flatMap((file) => file.index.chunks.map((chunk) => [chunk.id, chunk.length] as const)));
    const smallest = [...entries].sort((a, b) => a[1] - b[1]).slice(0, CHUNKS);
    const chunks = [];
    for (const [id] of smallest) chunks.push({ id, bytes: new Uint8Array((await http(server.url, 'GET', `/v1/chunks/${id}`, { token: tokens.admin })).body) });
    const alias = await http(server.url, 'GET', `/v1/aliases/${ALIAS}`, { token: tokens.read });
    target = { fingerprint: image.fingerprint, manifest, alias: ALIAS, aliasVersion: alias.json.version, chunks, tokens };
    baseline = await snapshotServer(server.url, server.dataDir, tokens.admin);
  });
  after(async () => {
    await server?.destroy();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it(`answers every mutated request without a 5xx, stays up, and stores nothing it refused (LXCHUNK_FUZZ_CASES=${CASES})`, async () => {
    console.log(`    fuzz seed ${SEED}: replay with LXCHUNK_FUZZ_SEED=${SEED} [LXCHUNK_FUZZ_CASE=<index>]`);
    const indexes = ONLY === undefined ? Array.from({ length: CASES }, (_, i) => i) : [ONLY];
    const agent = new Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
    const started = performance.now();
    const findings: Finding[] = [];
    const statuses = new Map<string, number>();
    try {
      for (let start = 0; start < indexes.length; start += BATCH) {
        const batch = indexes.slice(start, start + BATCH);
        const writesAccepted: string[] = [];
        await forEachBounded(batch, IN_FLIGHT, async (index) => {
          const fuzz = fuzzCase(SEED, index, target);
          const answer = await sendCase(server.url, agent, fuzz);
          const family = fuzz.label.split(' ')[0]!;
          const key = `${family} ${answer.status ?? 'no answer'}`;
          statuses.set(key, (statuses.get(key) ?? 0) + 1);
          if (answer.status !== undefined && answer.status >= 500) findings.push({ index, fuzz, answer });
          if (answer.status !== undefined && answer.status < 300 && !['GET', 'HEAD'].includes(fuzz.method)) writesAccepted.push(`${describeCase(index, fuzz)} → ${answer.status}`);
        });
        const range = `cases ${batch[0]}..${batch.at(-1)} of seed ${SEED}`;
        assert.equal(server.child.exitCode, null, `the server exited during ${range}`);
        const health = await http(server.url, 'GET', '/healthz');
        assert.deepEqual([health.status, health.json], [200, { ok: true }], `healthz after ${range}`);
        const now = await snapshotServer(server.url, server.dataDir, target.tokens.admin);
        assert.deepEqual(now, baseline, `stored state changed during ${range}; requests accepted there:\n${writesAccepted.join('\n')}`);
      }
    } finally {
      agent.destroy();
      console.log(`    ${indexes.length} cases in ${((performance.now() - started) / 1000).toFixed(0)} s; answers by family and status: ${[...statuses].sort().map(([key, n]) => `${key}: ${n}`).join(', ')}`);
    }
    // Distinct failures: one line per route, method, kind of mutation and status, with one example each.
    const distinct = new Map<string, { count: number; example: string }>();
    for (const { index, fuzz, answer } of findings) {
      const key = `${fuzz.route === 'raw' ? 'raw' : `${fuzz.method} ${fuzz.route.replace(/^\S+ /, '')}`} ${findingKind(fuzz)} → ${answer.status}`;
      const entry = distinct.get(key) ?? { count: 0, example: `${describeCase(index, fuzz)}: ${answer.detail.slice(0, 160)}` };
      entry.count++;
      distinct.set(key, entry);
    }
    const causes = new Map<string, number>();
    for (const line of serverErrors) {
      try {
        const entry = JSON.parse(line) as { method: string; path: string; error: string };
        // Ids, damaged segments and quoted values vary with every case; the route's words and the error do not.
        const route = entry.path
          .split('/')
          .slice(0, 4)
          .map((segment) => (/^[a-z0-9]{0,16}$/i.test(segment) ? segment.toLowerCase() : '{…}'))
          .join('/');
        const cause = `${entry.method} ${route}: ${entry.error.split('\n')[0]!.replace(/'[^']*'/g, "'…'")}`;
        causes.set(cause, (causes.get(cause) ?? 0) + 1);
      } catch {
        causes.set(line.slice(0, 200), (causes.get(line.slice(0, 200)) ?? 0) + 1);
      }
    }
    const report = [
      `${findings.length} of ${indexes.length} cases got a 5xx (seed ${SEED}); ${distinct.size} distinct:`,
      ...[...distinct].sort().map(([key, { count, example }]) => `  ${count}× ${key}\n      e.g. ${example}`),
      `${serverErrors.length} requests the server logged as failed (a 5xx, sent or not: a client that hung up gets none):`,
      ...[...causes].sort((a, b) => b[1] - a[1]).map(([cause, count]) => `  ${count}× ${cause}`),
    ].join('\n');
    if (findings.length + serverErrors.length > 0) console.log(report);
    assert.equal(findings.length, 0, report);
    assert.equal(serverErrors.length, 0, report);
  });
});
