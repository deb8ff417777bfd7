import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { mapSquashfs } = await import('../../packages/squashfs/dist/src/index.js');
const { ChunkerCore, chunkId } = await import('../../packages/chunker/dist/src/index.js');
const { blake3 } = require('../../packages/chunker/node_modules/@napi-rs/blake-hash');

const dir = '/work/main/.bench-cache/debootstrap/images';
const avg = Number(process.argv[2] ?? 32) * 1024, min = avg / 4, max = avg * 4;
const groupAvg = Number(process.argv[3] ?? 32) * 1024;
async function chunks(path, aware) {
  const data = readFileSync(path);
  const out = [];
  const cdc = (start, end) => {
    const core = new ChunkerCore({ min, avg, max });
    core.push(data.subarray(start, end), (o, b) => out.push({ id: chunkId(b), length: b.length }));
    core.finish((o, b) => out.push({ id: chunkId(b), length: b.length }));
  };
  if (!aware) { cdc(0, data.length); return out; }
  const map = await mapSquashfs(path);
  let gStart = -1, gEnd = -1;
  const flush = () => { if (gStart >= 0 && gEnd > gStart) { const b = data.subarray(gStart, gEnd); out.push({ id: chunkId(b), length: b.length }); } gStart = -1; };
  const ranges = [];
  for (const r of map.ranges) {
    if ((r.kind === 'inode-table' || r.kind === 'directory-table') && process.env.META) {
      let at = r.offset; const end = r.offset + r.length;
      while (at + 2 <= end) { const len = data.readUInt16LE(at) & 0x7fff; if (at + 2 + len > end) break; ranges.push({ offset: at, length: 2 + len, kind: 'fragment' }); at += 2 + len; }
      if (at < end) ranges.push({ offset: at, length: end - at, kind: 'padding' });
    } else ranges.push(r);
  }
  for (const r of ranges) {
    const isBlock = (r.kind === 'data' && r.file) || r.kind === 'fragment';
    if (!isBlock || r.length > (process.env.BIG ? groupAvg : max)) { flush(); cdc(r.offset, r.offset + r.length); continue; }
    if (gStart >= 0 && gEnd - gStart + r.length > max) flush();
    if (gStart < 0) { gStart = r.offset; }
    gEnd = r.offset + r.length;
    const h = blake3(data.subarray(r.offset, gEnd)).readUInt32LE(0);
    if (h < Math.min(1, r.length / groupAvg) * 2 ** 32) flush();
  }
  flush();
  return out;
}
function cost(have, want) {
  const held = new Set(have.map((c) => c.id)); const seen = new Set(); let bytes = 0;
  for (const c of want) { if (seen.has(c.id)) continue; seen.add(c.id); if (!held.has(c.id)) bytes += c.length; }
  return { bytes, index: want.length * 36 + 96, n: want.length };
}
const xd = Object.fromEntries(readFileSync('/tmp/xd/sizes.txt', 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([k, d]) => [k, Number(d)]));
for (const profile of ['no-fragments', 'stock']) for (const aware of [false, true]) {
  const base = await chunks(`${dir}/base.${profile}.squashfs`, aware);
  const row = [];
  for (const v of ['rebuild', 'update', 'add-packages']) {
    const c = cost(base, await chunks(`${dir}/${v}.${profile}.squashfs`, aware));
    const x = xd[`${v}.${profile}`];
    row.push(`${v}: ${((c.bytes + c.index) / 1024).toFixed(0)}K (idx ${(c.index / 1024).toFixed(0)}K, n=${c.n}) = ${((c.bytes + c.index) / x).toFixed(2)}x xd`);
  }
  console.log(profile, aware ? 'aware' : 'cdc', avg / 1024, groupAvg / 1024, row.join(' | '));
}
