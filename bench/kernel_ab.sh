#!/usr/bin/env bash
# What each kernel option of issue 15's goal 9 is worth on the bare socket path: the bare
# io_uring echo servers (`ringmcp-echo-baseline --impl raw` for 100-byte lines over TCP,
# `--impl raw-http` for HTTP/1.1 keep-alive with the 2026-07-28 echo request ringmcp-load sends)
# run without an option and with each of `--direct` (registered descriptors), `--bundle`
# (receive bundles) and `--fixed-send` (registered send buffers), alternated round by round:
# server pinned to CPU 0, ringmcp-load to CPU 1, closed loop. Prints one JSON line per run and,
# per transport and option, the medians and the option's server CPU per request against none.
# ringmcp's socket path is this loop plus its own work, so an option that saves nothing here
# saves nothing there.
#
#   bench/kernel_ab.sh [rounds=3] [seconds=4] [connections=256]
#
# OPTIONS (default "--direct --bundle --fixed-send") picks the options compared with none;
# TRANSPORTS (default "tcp http") the transports.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-4}
conns=${3:-256}
cargo build --release -q -p ringmcp-bench
T=target/release
out=$(mktemp)
port=7411
run() { # transport option...
    local transport=$1; shift
    local impl=raw workload=line
    [[ $transport == http ]] && impl=raw-http && workload=echo-modern
    port=$((port + 1))
    "$T/ringmcp-echo-baseline" --impl "$impl" --addr "127.0.0.1:$port" --cpu 0 \
        --seconds $((secs + 5)) "$@" >/dev/null 2>&1 &
    local pid=$! result
    sleep 0.5
    result=$("$T/ringmcp-load" --addr "127.0.0.1:$port" --transport "$transport" \
        --workload "$workload" --connections "$conns" --cpus 1 --warmup 1 --duration "$secs" \
        --server-pid "$pid" --json)
    printf '{"transport":"%s","option":"%s","result":%s}\n' "$transport" "${*:-none}" "$result" >>"$out"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    tail -n1 "$out"
}
for _ in $(seq "$rounds"); do
    for transport in ${TRANSPORTS:-tcp http}; do
        run "$transport"
        for option in ${OPTIONS:---direct --bundle --fixed-send}; do
            run "$transport" "$option"
        done
    done
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault((r["transport"], r["option"]), []).append(r["result"])
med = lambda rs, f: statistics.median(f(x) for x in rs)
cpu = lambda rs: med(rs, lambda x: x["server_cpu_us_per_req"])
print(f"{'transport':9} {'option':12} {'req/s':>9} {'p50 us':>7} {'CPU us/req':>10} {'vs none':>7}")
for (transport, option), rs in by.items():
    base = cpu(by[(transport, "none")])
    print(f"{transport:9} {option:12} {med(rs, lambda x: x['req_per_s']):9.0f} "
          f"{med(rs, lambda x: x['latency_us']['p50']):7.0f} {cpu(rs):10.2f} {cpu(rs) / base:7.2f}")
PY
rm -f "$out"
