#!/usr/bin/env bash
# Keeps the shared cargo target dir from filling the disk. Every CI run builds this workspace from
# a fresh clone at a new path, so its own crates get new artifact hashes each time while the old
# ones (test binaries that link RocksDB statically: hundreds of MiB each) stay behind. This removes
# only the workspace's own outputs — test and bin executables, magpie crate libraries, incremental
# state and examples — which the next build recreates in a few minutes. Third-party crates and
# build-script outputs (RocksDB's 17-minute C++ build) are never touched.
set -euo pipefail
target=${1:-${CARGO_TARGET_DIR:-/var/tmp/magpie-target}}
release="$target/release"
[[ -d $release/deps ]] || exit 0
before=$(du -sm "$target" | cut -f1)
# Executables in deps/ are test and bin targets (library artifacts all have an extension).
find "$release/deps" -maxdepth 1 -type f -perm -u+x ! -name '*.*' -delete
find "$release/deps" -maxdepth 1 -type f \( -name 'libmagpie_*' -o -name 'magpie_*' \) -delete
rm -rf "$release/incremental" "$release/examples"
echo "prune-target: $target ${before} MiB -> $(du -sm "$target" | cut -f1) MiB"
