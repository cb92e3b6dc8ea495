// After `vite build`: writes a .br and a .gz next to every compressible file in dist/ (the engine
// sends them by Accept-Encoding), then measures what the first screen downloads — the scripts and
// stylesheets index.html names — compressed, and fails the build above the 150 KB budget.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const BUDGET = 150 * 1024;
const compressible = /\.(html|js|mjs|css|svg|json|webmanifest|txt)$/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else yield p;
  }
}

const sizes = new Map();
for (const path of [...files(dist)]) {
  if (!compressible.test(path)) continue;
  const raw = readFileSync(path);
  const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
  const gz = gzipSync(raw, { level: 9 });
  writeFileSync(`${path}.br`, br);
  writeFileSync(`${path}.gz`, gz);
  sizes.set(path.slice(dist.length - 1), { raw: raw.length, br: br.length, gz: gz.length });
}

const html = readFileSync(join(dist, 'index.html'), 'utf8');
const firstLoad = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*\shref)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
let br = 0;
let gz = 0;
for (const url of firstLoad) {
  const s = sizes.get(url);
  br += s.br;
  gz += s.gz;
  console.log(`  ${url}: ${s.raw} B raw, ${s.br} B br, ${s.gz} B gzip`);
}
console.log(`first load JS+CSS: ${br} B brotli, ${gz} B gzip (budget ${BUDGET} B)`);
if (gz > BUDGET) {
  console.error('first load is over the budget');
  process.exit(1);
}
