#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and reports executions and crashes.
#
#   tools/scripts/fuzz.sh [seconds-per-target]     (default 60)
#
# Two cargo-fuzz projects: fuzz/ (wire, client decoding, storage codecs; no RocksDB) and
# fuzz/engine/ (a whole engine in-process, so it links RocksDB). The engine project never compiles
# RocksDB's C++ itself: it links the librocksdb.a of the main release build ($MAGPIE_MAIN_TARGET_DIR,
# default: the inherited CARGO_TARGET_DIR or /var/tmp/magpie-target), building that first if it is
# missing (it is what test.sh builds anyway).
#
# Works on a stable toolchain: cargo-fuzz needs nightly-only flags (-Zsanitizer=address), which
# RUSTC_BOOTSTRAP=1 unlocks. Installs cargo-fuzz from crates.io if it is missing. Builds into
# $MAGPIE_FUZZ_TARGET_DIR (default /var/tmp/magpie-fuzz-target), never into the main build cache
# (an inherited CARGO_TARGET_DIR is ignored on purpose: sanitizer builds do not belong there).
# Each run reads the committed seeds (fuzz/corpus/<target>) and crash regressions
# (fuzz/regressions/<target>) and grows its own corpus in fuzz/work/corpus/<target> (git-ignored).
# Then both projects' `cargo test` replays every seed and regression without libFuzzer
# (MAGPIE_FUZZ_REPLAY=0 skips that).
# Exits non-zero if any target crashed; the crashing input is in fuzz[/engine]/artifacts/<target>/
# and its path is printed. See docs/FUZZING.md.
set -euo pipefail

secs="${1:-60}"
case "$secs" in '' | *[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;; esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fuzz="$root/fuzz"
export RUSTC_BOOTSTRAP=1
main_target="${MAGPIE_MAIN_TARGET_DIR:-${CARGO_TARGET_DIR:-/var/tmp/magpie-target}}"
export CARGO_TARGET_DIR="${MAGPIE_FUZZ_TARGET_DIR:-/var/tmp/magpie-fuzz-target}"
work="${MAGPIE_FUZZ_WORK:-$fuzz/work}"
# Same flags for build and run, or `cargo fuzz run` rebuilds: -a = debug assertions on.
flags=(-a)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked --version "${CARGO_FUZZ_VERSION:-0.13.2}"
fi
echo "== $(cargo fuzz --version); $(rustc --version); target dir $CARGO_TARGET_DIR"

cd "$fuzz"
# Builds from other clones leave their own fuzz binaries behind; drop them (third-party crates stay).
deps="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/deps"
if [[ -d $deps ]]; then
    find "$deps" -maxdepth 1 -type f -perm -u+x ! -name '*.*' -delete
    find "$deps" -maxdepth 1 -type f \( -name 'libmagpie_*' -o -name 'magpie_*' \) -delete
fi
# The librocksdb.a of the main release build, of the librocksdb-sys version fuzz/engine locks.
rocksdb_version=$(awk '$0 == "name = \"librocksdb-sys\"" { getline; gsub(/version = |"/, ""); print }' engine/Cargo.lock)
find_rocksdb() {
    local out best=""
    for out in "$main_target"/release/build/librocksdb-sys-*/out; do
        [[ -f $out/librocksdb.a ]] || continue
        grep -qF "librocksdb-sys-$rocksdb_version" "$(dirname "$out")/output" 2>/dev/null || continue
        if [[ -z $best || $out/librocksdb.a -nt $best/librocksdb.a ]]; then best=$out; fi
    done
    echo "$best"
}
rocksdb_dir=$(find_rocksdb)
if [[ -z $rocksdb_dir ]]; then
    echo "== no librocksdb.a ($rocksdb_version) in $main_target yet: building it with the main workspace"
    (cd "$root" && CARGO_TARGET_DIR="$main_target" cargo build --release -p magpie-storage)
    rocksdb_dir=$(find_rocksdb)
    [[ -n $rocksdb_dir ]] || { echo "librocksdb-sys $rocksdb_version not found under $main_target" >&2; exit 1; }
fi
echo "== engine targets link $rocksdb_dir/librocksdb.a"
# Only for the engine project (set the same way for build and run, or cargo rebuilds).
engine_env=(env ROCKSDB_LIB_DIR="$rocksdb_dir" ROCKSDB_STATIC=1)

start=$(date +%s)
cargo fuzz build "${flags[@]}"
echo "== build took $(($(date +%s) - start)) s"
start=$(date +%s)
"${engine_env[@]}" cargo fuzz build "${flags[@]}" --fuzz-dir engine
echo "== engine build took $(($(date +%s) - start)) s"

# Every target as project:name (project "." is fuzz/, "engine" is fuzz/engine/).
targets=()
while read -r t; do targets+=(".:$t"); done < <(cargo fuzz list)
while read -r t; do targets+=("engine:$t"); done < <(cargo fuzz list --fuzz-dir engine)
[ "${#targets[@]}" -gt 0 ] || { echo "no fuzz targets found (cargo fuzz list)" >&2; exit 1; }
mkdir -p "$work/logs"
failed=0
summary=()
for pt in "${targets[@]}"; do
    project=${pt%%:*} t=${pt#*:}
    run=(cargo fuzz run "${flags[@]}")
    extra=()
    if [[ $project == engine ]]; then
        # The engine's own threads allocate during every input: leak checks would only slow it.
        run=("${engine_env[@]}" cargo fuzz run "${flags[@]}" --fuzz-dir engine)
        extra=(-detect_leaks=0)
    fi
    dirs=("$work/corpus/$t")
    mkdir -p "$work/corpus/$t"
    [ -d "corpus/$t" ] && dirs+=("corpus/$t")
    [ -d "regressions/$t" ] && dirs+=("regressions/$t")
    log="$work/logs/$t.log"
    echo "== $t: ${secs}s over ${dirs[*]} (log: $log)"
    set +e
    "${run[@]}" "$t" "${dirs[@]}" -- \
        -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 "${extra[@]}" >"$log" 2>&1
    rc=$?
    set -e
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        summary+=("$(printf '%-15s %12s execs  ok' "$t" "${execs:-?}")")
    else
        failed=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        summary+=("$(printf '%-15s %12s execs  CRASH (exit %s) artifact: %s' "$t" "${execs:-?}" "$rc" "${artifact:-none, see $log}")")
        echo "---- last lines of $log"
        tail -n 60 "$log"
        echo "----"
    fi
done

if [[ ${MAGPIE_FUZZ_REPLAY:-1} != 0 ]]; then
    # The seeds and regressions once more, through the plain harness functions (no sanitizers,
    # so a separate target dir: other RUSTFLAGS would make the two builds rebuild each other).
    echo "== replay: cargo test of both fuzz projects"
    start=$(date +%s)
    replay_target="$CARGO_TARGET_DIR/replay"
    if ! env -u RUSTC_BOOTSTRAP CARGO_TARGET_DIR="$replay_target" cargo test -q --manifest-path Cargo.toml \
        || ! env -u RUSTC_BOOTSTRAP CARGO_TARGET_DIR="$replay_target" "${engine_env[@]}" cargo test -q --manifest-path engine/Cargo.toml; then
        failed=1
        summary+=("replay (cargo test)  FAILED")
    fi
    echo "== replay took $(($(date +%s) - start)) s"
fi

echo "== summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
crashed=$(printf '%s\n' "${summary[@]}" | grep -c -E 'CRASH|FAILED' || true)
checks=${#targets[@]}
[[ ${MAGPIE_FUZZ_REPLAY:-1} == 0 ]] || checks=$((checks + 1))
echo "fuzz: $((checks - crashed)) passed, $crashed failed"
if [ "$failed" -ne 0 ]; then
    echo "== FAILED: reproduce with: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${flags[*]} [--fuzz-dir engine] <target> <artifact>" >&2
    exit 1
fi
