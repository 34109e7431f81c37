#!/usr/bin/env bash
# Soak: find the peak of `tools/call echo` over TCP (closed loop, 64 connections, 10 s), then hold
# half of it open loop for the soak duration while sampling the server's RSS. Server pinned to
# CPU 0, load generator to CPU 1. Prints the JSON report and a verdict: no error of any kind, and
# RSS after the first minute stays within 5% of its first sample.
#
#   bench/soak.sh [seconds=600]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
port=${SOAK_PORT:-7321}
cargo build --release -q -p ringmcp -p ringmcp-bench
T=target/release
"$T/ringmcp" serve --tcp "127.0.0.1:$port" --cores 1 >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
sleep 0.5
peak=$("$T/ringmcp-load" --addr "127.0.0.1:$port" --connections 64 --cpus 1 --warmup 2 --duration 10 \
    --server-pid "$pid" --json)
echo "peak: $peak"
rate=$(python3 -c 'import json,sys; print(int(json.loads(sys.argv[1])["req_per_s"] / 2))' "$peak")
echo "soak: ${rate} req/s for ${secs} s"
report=$("$T/ringmcp-load" --addr "127.0.0.1:$port" --connections 64 --cpus 1 --warmup 5 \
    --duration "$secs" --rate "$rate" --sample-secs 10 --server-pid "$pid" --json)
echo "$report"
python3 - "$report" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
samples = [b for t, b in r["rss_samples"] if t >= 60] or [b for _, b in r["rss_samples"]]
first, peak = samples[0], max(samples)
drift = (peak - first) / first * 100
ok = r["errors"] == 0 and r["rpc_errors"] == 0 and drift <= 5.0
print(f"{r['requests']} requests at {r['req_per_s']:.0f}/s, p50 {r['latency_us']['p50']:.0f} us, "
      f"p99 {r['latency_us']['p99']:.0f} us, max {r['latency_us']['max']:.0f} us; errors {r['errors']}, "
      f"JSON-RPC errors {r['rpc_errors']}; RSS {first // 1024} KiB -> max {peak // 1024} KiB "
      f"({drift:+.1f}%): {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
