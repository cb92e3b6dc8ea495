#!/usr/bin/env bash
# Runs the benchmark matrix of docs/BENCHMARKS.md and prints a Markdown table of the results.
#
#   bench/scripts/matrix.sh [OUT_DIR]          (default OUT_DIR: ${TMPDIR:-/tmp}/magpie-bench-<UTC time>)
#
# Builds the engine and the bench (release, shared target dir), then runs each scenario in turn,
# one engine process per run. Extra flags for every run: MAGPIE_BENCH_FLAGS="--durability process-crash".
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/magpie-target}"
out="${1:-${TMPDIR:-/tmp}/magpie-bench-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
cargo build --release --bin magpie --bin magpie-bench
bench="$CARGO_TARGET_DIR/release/magpie-bench"
flags=(${MAGPIE_BENCH_FLAGS:-})

run() { # name, flags...
  local name=$1; shift
  echo "== $name: $*  (uptime:$(uptime | sed 's/.*load average//'))" >&2
  "$bench" "$@" "${flags[@]}" --out "$out/$name.json" >&2 || echo "!! $name reported errors or missing deliveries" >&2
}

for t in quic ws; do
  for r in 2000 5000 10000; do
    run "o2o-$t-1000c-$r" --scenario one-to-one --transport "$t" --clients 1000 --rate "$r"
  done
  run "fanout-$t-g100-1000" --scenario fanout --transport "$t" --group 100 --senders 10 --rate 1000
  run "fanout-$t-g1000-100" --scenario fanout --transport "$t" --group 1000 --senders 10 --rate 100
done

echo
echo "| scenario | transport | clients | offered msg/s | acked msg/s | deliveries/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | last-recipient p99 ms | ack p99 ms | engine CPU s | generator CPU s | deliveries / engine CPU-s | errors | exactly once | load avg |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for f in "$out"/*.json; do
  jq -r '[.scenario, .transport, .config.clients, .offered_msgs_per_s, .acked_per_s, .deliveries_per_s,
          (.latency_us.deliver | .p50_us/1000, .p90_us/1000, .p99_us/1000, .p999_us/1000, .max_us/1000),
          .latency_us.last_recipient.p99_us/1000, .latency_us.ack.p99_us/1000,
          .cpu.engine_s, .cpu.generator_s, .cpu.deliveries_per_engine_cpu_s, .errors.total,
          .delivery_check.exactly_once, "\(.machine.load_avg_1m_before)→\(.machine.load_avg_1m_after)"]
         | map(if type == "number" then (. * 100 | round / 100 | tostring) else tostring end)
         | "| " + join(" | ") + " |"' "$f"
done
