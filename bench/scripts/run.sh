#!/usr/bin/env bash
# Runs benchmark scenarios, writes one JSON report per run plus SVG charts and a Markdown table.
#
#   bench/scripts/run.sh [--quick] [--out DIR] [all | SCENARIO ...]
#
# SCENARIO: one-to-one fanout channel density storm storage peers (default: all). Every scenario
# runs over QUIC and WebSocket (channel: QUIC only — 100,000 WebSocket connections do not fit in
# 20,000 open files per process). --quick uses seconds-long, small sizes (what the test suite
# runs); the default sizes are the ones in docs/BENCHMARKS.md and take about an hour in all.
# DIR defaults to ${TMPDIR:-/tmp}/magpie-bench-<UTC time>; the charts land in DIR too
# (`magpie-bench-charts DIR`). Extra flags for every run: MAGPIE_BENCH_FLAGS="--shards 2".
# Needs jq for the table.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/magpie-target}"
quick=()
out=""
scenarios=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=(--quick); shift ;;
    --out) out="$2"; shift 2 ;;
    all) scenarios+=(one-to-one fanout channel density storm storage peers); shift ;;
    one-to-one | fanout | channel | density | storm | storage | peers) scenarios+=("$1"); shift ;;
    *) echo "usage: $0 [--quick] [--out DIR] [all | one-to-one fanout channel density storm storage peers ...]" >&2; exit 2 ;;
  esac
done
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(one-to-one fanout channel density storm storage peers)
out="${out:-${TMPDIR:-/tmp}/magpie-bench-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
cargo build --release --bin magpie --bin magpie-bench --bin magpie-bench-charts --bin magpie-ceiling
bench="$CARGO_TARGET_DIR/release/magpie-bench"
flags=(${MAGPIE_BENCH_FLAGS:-})
failed=0

run() { # name, flags...
  local name=$1; shift
  echo "== $name: $*  (load average:$(uptime | sed 's/.*load average://'))" >&2
  if ! "$bench" "$@" "${quick[@]}" "${flags[@]}" --out "$out/$name.json" >&2; then
    echo "!! $name reported errors, missing deliveries or a missed bound" >&2
    failed=1
  fi
}

q() { [[ ${#quick[@]} -gt 0 ]]; }

for s in "${scenarios[@]}"; do
  case "$s" in
    one-to-one)
      # Latency vs offered rate, 10,000 clients in 5,000 direct chats.
      if q; then rates=(100 200); clients=20; else rates=(2000 5000 10000 20000); clients=10000; fi
      for t in quic ws; do for r in "${rates[@]}"; do
        run "one-to-one-$t-$r" --scenario one-to-one --transport "$t" --clients "$clients" --rate "$r"
      done; done ;;
    fanout)
      # Groups of 10, 1,000 and 10,000: rate chosen so each offers ~100k deliveries/s.
      if q; then sizes=("10 20"); else sizes=("10 10000" "1000 100" "10000 10"); fi
      for t in quic ws; do for gs in "${sizes[@]}"; do
        read -r g r <<<"$gs"
        run "fanout-$t-g$g" --scenario fanout --transport "$t" --group "$g" --senders "$((g < 10 ? g : 10))" --rate "$r"
      done; done ;;
    channel)
      run "channel-quic" --scenario channel --transport quic ;;
    density)
      if q; then run "density-quic" --scenario density --transport quic; run "density-ws" --scenario density --transport ws
      else
        run "density-quic" --scenario density --transport quic --clients 100000 --steps 5
        run "density-ws" --scenario density --transport ws --clients 19000 --steps 5
      fi ;;
    storm)
      for t in quic ws; do run "storm-$t" --scenario storm --transport "$t"; done ;;
    storage)
      for d in power-loss process-crash; do
        run "storage-$d" --scenario storage --transport quic --durability "$d" --rate "$(q && echo 200 || echo 20000)"
      done ;;
    peers)
      run "peers-ws" --scenario fanout --transport ws --compare ;;
  esac
done

"$CARGO_TARGET_DIR/release/magpie-bench-charts" "$out" || failed=1

echo
echo "| run | transport | clients | offered msg/s | acked msg/s | deliveries/s | p50 ms | p99 ms | p99.9 ms | max ms | engine CPU s | deliveries / engine CPU-s | exactly once | load avg |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for f in "$out"/*.json; do
  jq -r --arg run "$(basename "$f" .json)" 'select(.latency_us != null) |
         [$run, .transport, .config.clients, .offered_msgs_per_s, .acked_per_s, .deliveries_per_s,
          (.latency_us.deliver | .p50_us/1000, .p99_us/1000, .p999_us/1000, .max_us/1000),
          .cpu.engine_s, .cpu.deliveries_per_engine_cpu_s,
          .delivery_check.exactly_once, "\(.machine.load_avg_1m_before)→\(.machine.load_avg_1m_after)"]
         | map(if type == "number" then (. * 100 | round / 100 | tostring) else tostring end)
         | "| " + join(" | ") + " |"' "$f" 2>/dev/null || true
done
echo
echo "results and charts: $out"
exit $failed
