#!/usr/bin/env bash
# The benchmark suite in one command: ringmcp pinned to CPU 0, the load generator to CPU 1 (on a
# 2-vCPU machine; SERVER_CPU / LOAD_CPU move them), every workload the report covers, rounds
# alternated, then a Markdown report with PNG plots. Bounded: every run stops by itself.
#
#   bench/run.sh [out-dir=bench/results/$(date +%F)] [rounds=3] [seconds=5]
#
# Sections (SECTIONS="echo mixed memory listen connect" by default):
#   echo     closed loop, C = 1 16 64 256 1024: TCP legacy echo, HTTP legacy echo, HTTP 2026-07-28 echo
#   mixed    closed loop, C = 64 256: connections spread over tool calls, ping, listings, resource
#            and template reads and prompts (`--workload mixed`), TCP and HTTP legacy sessions
#   memory   idle connections, each with its session (one request every 30 s), N = 1000 .. 16000
#   listen   resource-update delivery to N listeners on every shard, N = 1000 5000 10000
#   connect  connect + initialize + close storms
#   sessions idle HTTP sessions in one process: initialize requests for SESSION_SECS (25) seconds,
#            each leaving its session behind (not in the default set: >1M sessions, ~1.5 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results/$(date +%F)}
rounds=${2:-3}
secs=${3:-5}
sections=${SECTIONS:-echo mixed memory listen connect}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
ulimit -n "$(ulimit -Hn)"
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"
cargo build --release -q -p ringmcp -p ringmcp-bench
T=target/release

# A failed step must not leave its server behind.
trap 'pkill -P $$ -f "ringmcp serve" 2>/dev/null || true; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true' EXIT
start_server() { # args...: prints the pid
    taskset -c "$server_cpu" "$T/ringmcp" serve --cores 1 --max-sessions 1000000 "$@" >/dev/null 2>&1 &
    echo $!
}
stop_server() {
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    sleep 0.3
}
measure() { # label pid load-args...
    local label=$1 pid=$2; shift 2
    local r
    r=$("$T/ringmcp-load" --cpus "$load_cpu" --server-pid "$pid" --json "$@")
    printf '{"label":"%s","result":%s}\n' "$label" "$r" >>"$results"
    python3 bench/summary.py "$label" "$r"
}

for section in $sections; do
    case $section in
    echo)
        for round in $(seq "$rounds"); do
            for c in 1 16 64 256 1024; do
                pid=$(start_server --tcp 127.0.0.1:7401 --http 127.0.0.1:7402); sleep 0.5
                measure "tcp echo (legacy session)" "$pid" --addr 127.0.0.1:7401 --workload echo --connections "$c" --warmup 1 --duration "$secs"
                measure "http echo (legacy session)" "$pid" --addr 127.0.0.1:7402 --transport http --workload echo --connections "$c" --warmup 1 --duration "$secs"
                measure "http echo (2026-07-28)" "$pid" --addr 127.0.0.1:7402 --transport http --workload echo-modern --connections "$c" --warmup 1 --duration "$secs"
                stop_server "$pid"
            done
        done ;;
    mixed)
        for round in $(seq "$rounds"); do
            for c in 64 256; do
                pid=$(start_server --tcp 127.0.0.1:7401 --http 127.0.0.1:7402); sleep 0.5
                measure "tcp mixed (legacy session)" "$pid" --addr 127.0.0.1:7401 --workload mixed --connections "$c" --warmup 1 --duration "$secs"
                measure "http mixed (legacy session)" "$pid" --addr 127.0.0.1:7402 --transport http --workload mixed --connections "$c" --warmup 1 --duration "$secs"
                stop_server "$pid"
            done
        done ;;
    memory)
        for n in 1000 4000 8000 16000; do
            pid=$(start_server --tcp 127.0.0.1:7403 --http 127.0.0.1:7404); sleep 0.5
            measure "idle tcp connections + sessions" "$pid" --addr 127.0.0.1:7403 --workload echo --connections "$n" --interval 30 --warmup 1 --duration 3
            stop_server "$pid"
            pid=$(start_server --tcp 127.0.0.1:7403 --http 127.0.0.1:7404); sleep 0.5
            measure "idle http connections + sessions" "$pid" --addr 127.0.0.1:7404 --transport http --workload echo --connections "$n" --interval 30 --warmup 1 --duration 3
            stop_server "$pid"
        done ;;
    listen)
        for n in 1000 5000 10000; do
            # Two shards (one per CPU), so every update also crosses the mesh to the other shard's
            # listeners; the load generator shares CPU 1 with the second shard.
            "$T/ringmcp" serve --cores 2 --tcp 127.0.0.1:7405 >/dev/null 2>&1 &
            pid=$!; sleep 0.5
            measure "listen delivery (tcp, 2 shards)" "$pid" --addr 127.0.0.1:7405 --workload listen --connections "$n" --updates-per-sec 5 --warmup 1 --duration "$secs"
            stop_server "$pid"
        done ;;
    connect)
        for c in 1 8 32; do
            pid=$(start_server --tcp 127.0.0.1:7406); sleep 0.5
            measure "connect+initialize+close (tcp)" "$pid" --addr 127.0.0.1:7406 --workload connect --connections "$c" --warmup 1 --duration "$secs"
            stop_server "$pid"
        done ;;
    sessions)
        # The cap is raised above the target so that every initialize leaves a session: at
        # 60-110K/s, 25 s leave well over 1,000,000 behind.
        taskset -c "$server_cpu" "$T/ringmcp" serve --cores 1 --max-sessions 4000000 --http 127.0.0.1:7407 --session-idle-secs 3600 >/dev/null 2>&1 &
        pid=$!; sleep 0.5
        measure "idle http sessions (one process)" "$pid" --addr 127.0.0.1:7407 --transport http --workload sessions --connections 64 --warmup 0 --duration "${SESSION_SECS:-25}"
        stop_server "$pid" ;;
    *) echo "unknown section $section" >&2; exit 2 ;;
    esac
done
"$T/ringmcp-report" --input "$results" --out "$out" \
    --title "ringmcp: bench/run.sh on $(nproc) vCPU, $(uname -r), $(date +%F); server CPU $server_cpu, load CPU $load_cpu"
