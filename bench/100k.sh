#!/usr/bin/env bash
# 100,000 concurrent connections on one machine, each with its legacy session, each sending one
# `tools/call echo` per second (open loop) for DURATION seconds.
#
# One process may hold fewer than 20,000 files here, so both sides are split: SERVERS ringmcp
# processes (one shard each, all on CPU 0) share the port through SO_REUSEPORT, and the load
# generator runs PROCESSES worker processes on CPU 1, each from its own source address
# (127.0.0.2, .3, ...) so that no address runs out of ephemeral ports.
#
#   bench/100k.sh [connections=100000] [duration=60] [transport=tcp|http]
set -euo pipefail
cd "$(dirname "$0")/.."
conns=${1:-100000}
duration=${2:-60}
transport=${3:-tcp}
per_process=${PER_PROCESS:-16000}
servers=${SERVERS:-$(( (conns + per_process - 1) / per_process + 1 ))}
processes=${PROCESSES:-$(( (conns + per_process - 1) / per_process ))}
ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p ringmcp -p ringmcp-bench
T=target/release
port=7500
flag=--tcp
[ "$transport" = http ] && flag=--http
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
for i in $(seq "$servers"); do
    taskset -c 0 "$T/ringmcp" serve --cores 1 --share-port "$flag" "127.0.0.1:$port" --max-sessions 1000000 \
        --session-idle-secs 3600 >/dev/null 2>&1 &
    pids+=("$!")
done
sleep 1
echo "100k: $conns connections over $processes load processes, $servers server processes, ${duration}s at 1 request/s each"
list=$(IFS=,; echo "${pids[*]}")
"$T/ringmcp-load" --addr "127.0.0.1:$port" --transport "$transport" --workload echo \
    --connections "$conns" --processes "$processes" --cpus 1 --interval 1 --warmup 5 \
    --duration "$duration" --sample-secs 10 --server-pid "$list" --json | tee "${OUT:-/dev/null}" |
    python3 bench/summary.py "100k"
