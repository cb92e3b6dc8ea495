#!/usr/bin/env bash
# Runs the engine with the web app: builds web/dist first when it is missing or older than the
# app's sources (npm ci + npm run build), then execs the release engine, which serves the app at
# http://127.0.0.1:7600/ (and prints that address). Extra arguments go to magpie.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/var/tmp/magpie-target}
stale() {
  [[ ! -f web/dist/index.html ]] && return 0
  [[ -n $(find web/src web/public web/index.html web/package.json client-lib/ts/src -newer web/dist/index.html -print -quit) ]]
}
if stale; then
  echo "== building the web app (web/dist)"
  (cd web && { [[ -d node_modules ]] || npm ci --no-audit --no-fund; } && npm run build)
fi
echo "== then open the \"Web app\" address the engine prints (http://127.0.0.1:7600/ by default)"
exec cargo run --release --bin magpie -- --web-dir web/dist "$@"
