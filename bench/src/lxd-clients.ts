/**
 * What a stock LXD host costs the server in bytes for one update, through the two protocols
 * `chunk serve` also speaks (apps/server/src/lxd-views): the LXD image-server API (the whole image,
 * `GET /1.0/images/FP/export`) and simplestreams (images.json, then `lxd.tar.xz` and either the
 * `squashfs.vcdiff` item whose delta_base is the build the host holds, or `root.squashfs`). Every
 * request goes through the real server; bytes are counted as received (bodies) and as the server
 * counted them (lxchunk_bytes_served_total{protocol}, headers included). Everything downloaded is
 * checked: each file against the products' sha256, the export's parts against them and the image
 * fingerprint, the delta applied with `xdelta3 -d` to the held image and compared to the new one.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ChunkServerClient } from '@lxchunk/client';
import { scrapeMetrics, type MetricSamples } from './delta-metrics.js';
import { run } from './exec.js';
import type { ManagedProcess } from './managed-process.js';

/** One stored build, as the bench pushed it. */
export interface ServedBuild {
  readonly fingerprint: string;
  /** The build's squashfs on disk (the host's copy of it, when it holds this one). */
  readonly imagePath: string;
}

export interface LxdClientPlan {
  readonly url: string;
  /** A token with push scope (to move the alias) and one with read scope (what the LXD clients send). */
  readonly pushToken: string;
  readonly readToken: string;
  /** The server process: its log tells how long each simplestreams delta took to make. */
  readonly serverProcess: ManagedProcess;
  /** An alias used for this measurement only (deleted afterwards). */
  readonly alias: string;
  /** The builds the alias pointed at, oldest first; the last is the one the host wants. */
  readonly history: readonly ServedBuild[];
  /** The build the host holds (in the history, or not: then simplestreams has no delta for it). */
  readonly have: ServedBuild;
  readonly scratch: string;
}

/** One GET: body bytes received, and what the server counted for it (headers included). */
export interface Transfer {
  readonly bodyBytes: number;
  readonly wireBytes: number;
}

export interface LxdClientCosts {
  /** LXD protocol: GET /1.0, the alias, the image, then its export (the whole image, multipart). */
  readonly lxd: {
    readonly export: Transfer;
    /** All four requests. */
    readonly total: Transfer;
  };
  readonly simplestreams: {
    /** index.json + images.json. */
    readonly listing: Transfer;
    /** Wall time of the images.json request (it waits for the deltas being made, up to --simplestreams-delta-wait). */
    readonly listingSeconds: number;
    readonly metadata: Transfer;
    readonly rootfs: Transfer;
    /** The delta item from the held build, when images.json listed one. */
    readonly delta: Transfer | null;
    /** Its delta_base (the held build's version key). */
    readonly deltaBase: string | null;
    /** The delta items the newest version lists: delta_base → size. */
    readonly deltasListed: Readonly<Record<string, number>>;
    /** From the server's log: 'simplestreams delta made' for held → wanted, during this listing; null if it was made earlier (cached) or none. */
    readonly deltaMakeSeconds: number | null;
    /** Every delta the server made during the listing (base → target, seconds). */
    readonly deltasMade: ReadonlyArray<{ base: string; target: string; seconds: number }>;
    /** Wall time of `xdelta3 -d -s held delta out` (the host's side), when a delta was fetched. */
    readonly decodeSeconds: number | null;
  };
  /** What was checked, for the report. */
  readonly verified: readonly string[];
}

interface ProductItem {
  readonly ftype: string;
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
  readonly combined_squashfs_sha256?: string;
  readonly delta_base?: string;
}
interface Product {
  readonly aliases: string;
  readonly versions: Record<string, { readonly items: Record<string, ProductItem> }>;
}

const SERVED = 'lxchunk_bytes_served_total';
/** The request counter is bumped when the response ends; a scrape right after the body may come first. */
const SETTLE_MS = 50;

function servedBy(samples: MetricSamples, protocol: string): number {
  return samples.get(`${SERVED}{protocol="${protocol}"}`) ?? 0;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const bytes of createReadStream(path)) hash.update(bytes as Buffer);
  return hash.digest('hex');
}

/**
 * GETs `path` from the server, writing the body to `out` (or keeping it in memory when `out` is
 * undefined), with the bytes the server counted for `protocol` meanwhile.
 */
async function get(
  url: string,
  path: string,
  headers: Record<string, string>,
  protocol: string,
  out?: string,
): Promise<{ transfer: Transfer; sha256: string; body: Buffer | undefined; contentType: string; seconds: number }> {
  const before = servedBy(await scrapeMetrics(url), protocol);
  const started = performance.now();
  const response = await fetch(new URL(path, url), { headers });
  if (response.status !== 200 || !response.body) throw new Error(`GET ${path}: HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`);
  const hash = createHash('sha256');
  let bodyBytes = 0;
  const kept: Buffer[] = [];
  const sink = out ? createWriteStream(out) : undefined;
  for await (const piece of Readable.fromWeb(response.body as WebReadableStream<Uint8Array>)) {
    const bytes = piece as Buffer;
    bodyBytes += bytes.length;
    hash.update(bytes);
    if (sink) {
      if (!sink.write(bytes)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
    } else kept.push(bytes);
  }
  if (sink) await new Promise<void>((resolve, reject) => sink.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const seconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const after = servedBy(await scrapeMetrics(url), protocol);
  return {
    transfer: { bodyBytes, wireBytes: after - before },
    sha256: hash.digest('hex'),
    body: sink ? undefined : Buffer.concat(kept),
    contentType: response.headers.get('content-type') ?? '',
    seconds,
  };
}

function sum(...transfers: Transfer[]): Transfer {
  return { bodyBytes: transfers.reduce((s, t) => s + t.bodyBytes, 0), wireBytes: transfers.reduce((s, t) => s + t.wireBytes, 0) };
}

/** The parts of a multipart/form-data body, by form name. */
function multipartParts(body: Buffer, contentType: string): Map<string, Buffer> {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`export: not multipart (${contentType})`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts = new Map<string, Buffer>();
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headersEnd = body.indexOf('\r\n\r\n', start);
    const head = body.subarray(start, headersEnd).toString();
    const next = body.indexOf(delimiter, headersEnd + 4);
    if (headersEnd < 0 || next < 0) throw new Error('export: truncated multipart body');
    const name = /name="([^"]+)"/.exec(head)?.[1] ?? '?';
    // Each part's bytes end with the CRLF before the next delimiter.
    parts.set(name, body.subarray(headersEnd + 4, next - 2));
    at = next;
  }
  return parts;
}

/** Moves the plan's alias through its history (a fresh alias: each move adds a version). */
async function setHistory(plan: LxdClientPlan): Promise<void> {
  const client = new ChunkServerClient({ url: plan.url, token: plan.pushToken });
  let version: number | undefined;
  for (const build of plan.history) {
    const moved = await client.setAlias(plan.alias, build.fingerprint, version === undefined ? { absent: true } : { version });
    version = moved.version;
  }
}

export async function deleteAlias(plan: Pick<LxdClientPlan, 'url' | 'pushToken' | 'alias'>): Promise<void> {
  await new ChunkServerClient({ url: plan.url, token: plan.pushToken }).deleteAlias(plan.alias);
}

/** Both LXD clients' downloads of the history's last build, by a host holding `plan.have`. */
export async function measureLxdClients(plan: LxdClientPlan): Promise<LxdClientCosts> {
  const want = plan.history[plan.history.length - 1]!;
  const verified: string[] = [];
  await setHistory(plan);
  const bearer = { authorization: `Bearer ${plan.readToken}` };
  // LXD's simplestreams client: the token as the password of the remote URL (HTTP Basic).
  const basic = { authorization: `Basic ${Buffer.from(`lxd:${plan.readToken}`).toString('base64')}` };

  // Simplestreams first: images.json makes the deltas (and the log says how long each took).
  const logged: string[] = [];
  let partial = '';
  const unsubscribe = plan.serverProcess.onStderr((text) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    logged.push(...lines);
  });
  let listing: Transfer;
  let listingSeconds: number;
  let products: Record<string, Product>;
  try {
    const index = await get(plan.url, '/streams/v1/index.json', basic, 'simplestreams');
    const images = await get(plan.url, '/streams/v1/images.json', basic, 'simplestreams');
    listing = sum(index.transfer, images.transfer);
    listingSeconds = images.seconds;
    products = (JSON.parse(images.body!.toString()) as { products: Record<string, Product> }).products;
  } finally {
    unsubscribe();
  }
  const deltasMade: Array<{ base: string; target: string; seconds: number }> = [];
  for (const line of logged) {
    if (!line.includes('simplestreams delta made')) continue;
    const entry = JSON.parse(line) as { base: string; target: string; seconds: number };
    deltasMade.push({ base: entry.base, target: entry.target, seconds: entry.seconds });
  }
  const product = Object.values(products).find((p) => p.aliases === plan.alias);
  if (!product) throw new Error(`images.json lists no product for ${plan.alias}`);
  const versionOf = (fingerprint: string) => Object.entries(product.versions).find(([, v]) => v.items['lxd.tar.xz']?.combined_squashfs_sha256 === fingerprint)?.[0];
  const wantKey = versionOf(want.fingerprint);
  if (!wantKey) throw new Error(`images.json: no version of ${plan.alias} is ${want.fingerprint}`);
  if (Object.keys(product.versions).sort().at(-1) !== wantKey) throw new Error(`images.json: ${wantKey} is not the newest version of ${plan.alias}`);
  const items = product.versions[wantKey]!.items;
  const haveKey = versionOf(plan.have.fingerprint);
  const deltasListed: Record<string, number> = {};
  for (const item of Object.values(items)) if (item.ftype === 'squashfs.vcdiff' && item.delta_base) deltasListed[item.delta_base] = item.size;
  const deltaItem = haveKey === undefined ? undefined : Object.values(items).find((item) => item.ftype === 'squashfs.vcdiff' && item.delta_base === haveKey);

  const file = (name: string) => join(plan.scratch, `lxd-clients-${name}`);
  const fetchItem = async (item: ProductItem, name: string): Promise<Transfer> => {
    const got = await get(plan.url, `/${item.path}`, basic, 'simplestreams', file(name));
    if (got.transfer.bodyBytes !== item.size || got.sha256 !== item.sha256) {
      throw new Error(`simplestreams ${item.path}: got ${got.transfer.bodyBytes} bytes sha256 ${got.sha256}, images.json says ${item.size} bytes ${item.sha256}`);
    }
    verified.push(`${name}: size and sha256 as images.json lists`);
    return got.transfer;
  };
  try {
    const metadataItem = items['lxd.tar.xz'];
    const rootfsItem = items['root.squashfs'];
    if (!metadataItem || !rootfsItem) throw new Error(`images.json: ${wantKey} lacks lxd.tar.xz or root.squashfs`);
    const metadata = await fetchItem(metadataItem, 'lxd.tar.xz');
    let delta: Transfer | null = null;
    let decodeSeconds: number | null = null;
    const wantSha = await sha256File(want.imagePath);
    if (deltaItem) {
      delta = await fetchItem(deltaItem, 'delta.vcdiff');
      const started = performance.now();
      await run('xdelta3', ['-d', '-f', '-s', plan.have.imagePath, file('delta.vcdiff'), file('decoded.squashfs')]);
      decodeSeconds = (performance.now() - started) / 1000;
      const decoded = await sha256File(file('decoded.squashfs'));
      if (decoded !== wantSha || decoded !== rootfsItem.sha256) throw new Error(`xdelta3 -d of the delta gave sha256 ${decoded}, the new squashfs is ${wantSha}`);
      verified.push('xdelta3 -d -s <held squashfs> <delta>: byte for byte the new squashfs');
      await rm(file('decoded.squashfs'), { force: true });
    }
    const rootfs = await fetchItem(rootfsItem, 'root.squashfs');
    if (rootfsItem.sha256 !== wantSha) throw new Error(`root.squashfs is not the pushed image (${rootfsItem.sha256} vs ${wantSha})`);
    verified.push('root.squashfs is the pushed squashfs');

    // The LXD protocol: what the daemon asks a public image server for, then the export.
    const server = await get(plan.url, '/1.0', bearer, 'lxd');
    const alias = await get(plan.url, `/1.0/images/aliases/${encodeURIComponent(plan.alias)}`, bearer, 'lxd');
    const image = await get(plan.url, `/1.0/images/${want.fingerprint}`, bearer, 'lxd');
    const exported = await get(plan.url, `/1.0/images/${want.fingerprint}/export`, bearer, 'lxd');
    const parts = multipartParts(exported.body!, exported.contentType);
    const metaPart = parts.get('metadata');
    const rootPart = parts.get('rootfs');
    if (!metaPart || !rootPart) throw new Error(`export: parts ${[...parts.keys()].join(', ')}, not metadata and rootfs`);
    const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
    if (sha(metaPart) !== metadataItem.sha256 || sha(rootPart) !== rootfsItem.sha256) throw new Error('export: a part differs from the image file');
    const fingerprint = createHash('sha256').update(metaPart).update(rootPart).digest('hex');
    if (fingerprint !== want.fingerprint) throw new Error(`export: sha256(metadata + rootfs) ${fingerprint}, not the fingerprint ${want.fingerprint}`);
    verified.push('export: metadata and rootfs parts as images.json lists, sha256 of both the fingerprint');

    return {
      lxd: { export: exported.transfer, total: sum(server.transfer, alias.transfer, image.transfer, exported.transfer) },
      simplestreams: {
        listing,
        listingSeconds,
        metadata,
        rootfs,
        delta,
        deltaBase: deltaItem?.delta_base ?? null,
        deltasListed,
        deltaMakeSeconds: deltasMade.find((d) => d.base === plan.have.fingerprint && d.target === want.fingerprint)?.seconds ?? null,
        deltasMade,
        decodeSeconds,
      },
      verified,
    };
  } finally {
    for (const name of ['lxd.tar.xz', 'delta.vcdiff', 'decoded.squashfs', 'root.squashfs']) await rm(file(name), { force: true });
  }
}
