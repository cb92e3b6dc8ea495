#!/usr/bin/env bash
# Installs what a fresh Debian machine needs to build Magpie beyond the Rust toolchain:
# libclang (RocksDB's bindings are generated at build time). Idempotent and quick when done.
set -euo pipefail
# bindgen loads libclang.so / libclang-N.so; libclang-cpp (which some images ship) is not it.
if ! ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/llvm-*/lib/libclang-[0-9]*.so* \
        /usr/lib/x86_64-linux-gnu/libclang.so* /usr/lib/x86_64-linux-gnu/libclang-[0-9]*.so* >/dev/null 2>&1; then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libclang-dev >/dev/null
fi
