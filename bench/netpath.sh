#!/usr/bin/env bash
# Socket-path comparison on one machine, runs alternated: the server pinned to CPU 0, the load
# generator to CPU 1, 64 connections, closed loop, 100-byte lines (raw echo servers) or 64-byte
# MCP echo tool calls (ringmcp); over HTTP, the bare io_uring HTTP/1.1 keep-alive echo (the same
# ring loop answering each request's body back) against ringmcp's legacy session and 2026-07-28
# stateless echo, all sent the same request bytes by ringmcp-load. Prints one JSON line per run
# and the medians per server, each against the bare echo of its transport.
#
#   bench/netpath.sh [rounds=3] [seconds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-5}
cargo build --release -q -p ringmcp -p ringmcp-bench
T=target/release
out=$(mktemp)
run() { # name port workload server-cmd...   (TRANSPORT=http for HTTP runs)
    local name=$1 port=$2 workload=$3; shift 3
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep 0.5
    local result
    result=$("$T/ringmcp-load" --addr "127.0.0.1:$port" --transport "${TRANSPORT:-tcp}" --workload "$workload" --connections 64 --cpus 1 \
        --warmup 1 --duration "$secs" --server-pid "$pid" --json)
    printf '{"server":"%s","result":%s}\n' "$name" "$result" >>"$out"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    tail -n1 "$out"
}
for r in $(seq "$rounds"); do
    run raw-io_uring-line 7301 line "$T/ringmcp-echo-baseline" --impl raw --addr 127.0.0.1:7301 --cpu 0 --seconds $((secs + 5))
    run glommio-tcpstream-line 7302 line "$T/ringmcp-echo-baseline" --impl glommio --addr 127.0.0.1:7302 --cpu 0 --seconds $((secs + 5))
    run ringmcp-echo-legacy 7303 echo "$T/ringmcp" serve --tcp 127.0.0.1:7303 --cores 1
    run ringmcp-echo-modern 7304 echo-modern "$T/ringmcp" serve --tcp 127.0.0.1:7304 --cores 1
    TRANSPORT=http run raw-io_uring-http 7305 echo-modern "$T/ringmcp-echo-baseline" --impl raw-http --addr 127.0.0.1:7305 --cpu 0 --seconds $((secs + 5))
    TRANSPORT=http run ringmcp-http-legacy 7306 echo "$T/ringmcp" serve --http 127.0.0.1:7306 --cores 1
    TRANSPORT=http run ringmcp-http-modern 7307 echo-modern "$T/ringmcp" serve --http 127.0.0.1:7307 --cores 1
done
python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in rows:
    by.setdefault(r["server"], []).append(r["result"])
def cpu_of(name):
    return statistics.median(x["server_cpu_us_per_req"] for x in by[name])
print(f"{'server':28} {'req/s':>9} {'p50 us':>7} {'p99 us':>7} {'CPU us/req':>10} {'vs raw':>6}")
for name, rs in by.items():
    base = cpu_of("raw-io_uring-http" if "http" in name else "raw-io_uring-line")
    cpu = cpu_of(name)
    print(f"{name:28} {statistics.median(x['req_per_s'] for x in rs):9.0f} "
          f"{statistics.median(x['latency_us']['p50'] for x in rs):7.0f} "
          f"{statistics.median(x['latency_us']['p99'] for x in rs):7.0f} {cpu:10.2f} {cpu / base:6.2f}")
PY
