import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const { mapSquashfs } = await import('../../packages/squashfs/dist/src/index.js');
const { blake3 } = require('../../packages/chunker/node_modules/@napi-rs/blake-hash');
const dir = '/work/main/.bench-cache/debootstrap/images';
async function blocks(path) {
  const data = readFileSync(path); const map = await mapSquashfs(path);
  return map.ranges.map((r) => ({ ...r, id: blake3(data.subarray(r.offset, r.offset + r.length)).toString('hex') }));
}
for (const profile of ['no-fragments', 'stock']) {
  const base = await blocks(`${dir}/base.${profile}.squashfs`);
  const held = new Set(base.map((b) => b.id));
  for (const v of ['rebuild', 'update', 'add-packages']) {
    const nw = await blocks(`${dir}/${v}.${profile}.squashfs`);
    const by = {}; const cnt = {};
    const seen = new Set();
    for (const b of nw) { if (held.has(b.id) || seen.has(b.id)) continue; seen.add(b.id); const k = b.kind === 'data' && !b.file ? 'data?' : b.kind; by[k] = (by[k] ?? 0) + b.length; cnt[k] = (cnt[k] ?? 0) + 1; }
    const tot = Object.values(by).reduce((a, b) => a + b, 0);
    console.log(profile, v, 'total', (tot / 1024).toFixed(0) + 'K', JSON.stringify(Object.fromEntries(Object.entries(by).map(([k, n]) => [k, `${(n / 1024).toFixed(0)}K/${cnt[k]}`]))));
  }
  const kinds = {}; for (const b of base) kinds[b.kind] = (kinds[b.kind] ?? 0) + b.length;
  console.log(profile, 'base layout', JSON.stringify(Object.fromEntries(Object.entries(kinds).map(([k, n]) => [k, `${(n / 1024).toFixed(0)}K`]))), base.length, 'ranges');
}
