#!/usr/bin/env bash
# Interleaved A/B of two engine binaries on the same scenarios, so that the machine's noise
# falls on both alike: A, B, A, B, ... per scenario, the same load generator for both.
#
#   bench/scripts/ab.sh ENGINE_A ENGINE_B [rounds] [out-dir]
#
# Prints one Markdown row per run (scenario, engine, p50/p99 delivery ms, deliveries per engine
# CPU-second, load average) and keeps every JSON report in out-dir. The generator seeds accounts
# into the engine's store before starting it, so each side needs a generator built with that
# engine's storage (a store may gain column families an older engine refuses to open):
# MAGPIE_BENCH_A / MAGPIE_BENCH_B, default MAGPIE_BENCH, default the release build's.
set -euo pipefail
a=$1 b=$2 rounds=${3:-2}
out=${4:-$(mktemp -d /tmp/magpie-ab-XXXX)}
bench=${MAGPIE_BENCH:-${CARGO_TARGET_DIR:-/var/tmp/magpie-target}/release/magpie-bench}
bench_a=${MAGPIE_BENCH_A:-$bench} bench_b=${MAGPIE_BENCH_B:-$bench}
mkdir -p "$out"
# MAGPIE_AB_ONLY: a regular expression of scenario names to run (default: all).
only=${MAGPIE_AB_ONLY:-.}
scenarios=(
  "o2o-quic|--scenario one-to-one --transport quic --clients 1000 --rate 5000"
  "o2o-ws|--scenario one-to-one --transport ws --clients 1000 --rate 5000"
  "fanout-ws-g1000|--scenario fanout --transport ws --group 1000 --senders 10 --rate 100"
  "fanout-quic-g100|--scenario fanout --transport quic --group 100 --senders 10 --rate 1000"
  # 100,000 members, one sender at 1 msg/s for 10 s: minutes of setup per run, so it is last
  # and usually picked alone (MAGPIE_AB_ONLY=channel).
  "channel-quic-100k|--scenario channel --transport quic"
)
echo "| scenario | engine | round | p50 ms | p99 ms | deliveries/s | deliveries / engine CPU-s | engine cores | load avg |"
echo "|---|---|---|---|---|---|---|---|---|"
for s in "${scenarios[@]}"; do
  name=${s%%|*} args=${s#*|}
  [[ $name =~ $only ]] || continue
  for r in $(seq 1 "$rounds"); do
    for side in A B; do
      engine=$a gen=$bench_a; [[ $side == B ]] && engine=$b gen=$bench_b
      json="$out/$name-$side-$r.json"
      load=$(cut -d' ' -f1 /proc/loadavg)
      # shellcheck disable=SC2086
      "$gen" $args --engine "$engine" --out "$json" >"$out/$name-$side-$r.log" 2>&1 || { echo "| $name | $side | $r | run failed, see $out/$name-$side-$r.log |"; continue; }
      python3 - "$json" "$name" "$side" "$r" "$load" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
l, c = d["latency_us"]["deliver"], d["cpu"]
print(f"| {sys.argv[2]} | {sys.argv[3]} | {sys.argv[4]} | {l['p50_us']/1000:.2f} | {l['p99_us']/1000:.2f} | "
      f"{d['deliveries_per_s']:,.0f} | {c['deliveries_per_engine_cpu_s']:,.0f} | {c['engine_cores_busy']:.2f} | {sys.argv[5]} |")
PY
    done
  done
done
echo "reports: $out"
