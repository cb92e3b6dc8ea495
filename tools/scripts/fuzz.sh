#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time and reports executions and crashes.
#
#   tools/scripts/fuzz.sh [seconds-per-target]     (default 60)
#
# Works on a stable toolchain: cargo-fuzz needs nightly-only flags (-Zsanitizer=address), which
# RUSTC_BOOTSTRAP=1 unlocks. Installs cargo-fuzz from crates.io if it is missing. Builds into
# $MAGPIE_FUZZ_TARGET_DIR (default /var/tmp/magpie-fuzz-target), never into the main build cache
# (an inherited CARGO_TARGET_DIR is ignored on purpose: sanitizer builds do not belong there).
# Each run reads the committed seeds (fuzz/corpus/<target>) and crash regressions
# (fuzz/regressions/<target>) and grows its own corpus in fuzz/work/corpus/<target> (git-ignored).
# Exits non-zero if any target crashed; the crashing input is in fuzz/artifacts/<target>/ and its
# path is printed. See docs/FUZZING.md.
set -euo pipefail

secs="${1:-60}"
case "$secs" in '' | *[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;; esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fuzz="$root/fuzz"
export RUSTC_BOOTSTRAP=1
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
start=$(date +%s)
cargo fuzz build "${flags[@]}"
echo "== build took $(($(date +%s) - start)) s"

mapfile -t targets < <(cargo fuzz list)
[ "${#targets[@]}" -gt 0 ] || { echo "no fuzz targets found (cargo fuzz list)" >&2; exit 1; }
mkdir -p "$work/logs"
failed=0
summary=()
for t in "${targets[@]}"; do
    dirs=("$work/corpus/$t")
    mkdir -p "$work/corpus/$t"
    [ -d "corpus/$t" ] && dirs+=("corpus/$t")
    [ -d "regressions/$t" ] && dirs+=("regressions/$t")
    log="$work/logs/$t.log"
    echo "== $t: ${secs}s over ${dirs[*]} (log: $log)"
    set +e
    cargo fuzz run "${flags[@]}" "$t" "${dirs[@]}" -- \
        -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1
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

echo "== summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
crashed=$(printf '%s\n' "${summary[@]}" | grep -c CRASH || true)
echo "fuzz: $(( ${#targets[@]} - crashed )) passed, $crashed failed"
if [ "$failed" -ne 0 ]; then
    echo "== FAILED: reproduce with: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${flags[*]} <target> <artifact>" >&2
    exit 1
fi
