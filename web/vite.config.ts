import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The client library is compiled from its sources (no separate build step); its one runtime
// dependency, flatbuffers, resolves from this package's node_modules.
export default defineConfig({
  resolve: {
    alias: { '@magpie/client': fileURLToPath(new URL('../client-lib/ts/src/index.ts', import.meta.url)) },
    dedupe: ['flatbuffers', 'preact', '@preact/signals', '@preact/signals-core'],
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2022',
    // The engine serves everything under assets/ as immutable: keep hashed names there only.
    assetsDir: 'assets',
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Browser tests each start an engine and Chromium: one file at a time on a shared machine.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
