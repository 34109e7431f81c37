#!/usr/bin/env bash
# The benchmark suite in one command: ringmcp pinned to CPU 0, the load generator to CPU 1 (on a
# 2-vCPU machine; SERVER_CPU / LOAD_CPU move them), every workload the report covers, rounds
# alternated, then a Markdown report with PNG plots. Bounded: every run stops by itself.
#
#   bench/run.sh [out-dir=bench/results/$(date +%F)] [rounds=3] [seconds=5]
#
# Sections (SECTIONS="echo sweep mixed memory listen connect" by default):
#   echo     closed loop, C = 1 16 64 256 1024: TCP legacy echo, HTTP legacy echo, HTTP 2026-07-28 echo
#   sweep    open loop, 64 connections, offered RATES (default 1000 2000 5000 .. 80000) req/s,
#            ascending: TCP legacy echo, HTTP legacy echo, HTTP 2026-07-28 echo, each on a fresh
#            server; a path that served < 90% of a rate is not offered the higher ones
#   peers    ringmcp beside rmcp and the TypeScript SDK (bench/peers/compare.sh, alternated): the
#            same open-loop sweep (RATES, 64 connections) and idle connections with their sessions
#            (IDLE, default 1000 4000 8000 16000; RATES="" or IDLE="" leaves one out), TCP (rmcp)
#            and HTTP sessions (rmcp stateful, TypeScript SDK stateful); PEERS picks the
#            comparisons (default rmcp-tcp,rmcp-http-stateful,ts-http-stateful). Results in
#            <out>/peers/results.jsonl, plotted beside ringmcp's. Needs the peers built
#            (bench/peers/build.sh); not in the default set.
#   mixed    closed loop, C = 64 256: connections spread over tool calls, ping, listings, resource
#            and template reads and prompts (`--workload mixed`), TCP and HTTP legacy sessions
#   memory   idle connections, each with its session (one request every 30 s), N = 1000 .. 16000
#   listen   resource-update delivery to N listeners on every shard, N = 1000 5000 10000
#   connect  connect + initialize + close storms
#   sessions idle HTTP sessions in one process: initialize requests for SESSION_SECS (25) seconds,
#            each leaving its session behind (not in the default set: >1M sessions, ~1.5 GB)
#
# Environment: SKIP_BUILD=1 (use target/release as built), TABLES="a.jsonl b.jsonl" (earlier
# results to tabulate in report.md beside this run's, not plotted), TITLE (the report's and every
# plot's title line; default: machine, kernel, date, command).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results/$(date +%F)}
rounds=${2:-3}
secs=${3:-5}
sections=${SECTIONS:-echo sweep mixed memory listen connect}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
ulimit -n "$(ulimit -Hn)"
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"
plot_inputs=(--input "$results")
tables=()
for t in ${TABLES:-}; do tables+=(--table "$t"); done
[[ "${SKIP_BUILD:-0}" == 1 ]] || cargo build --release -q -p ringmcp -p ringmcp-bench
T=target/release
rates=${RATES-1000 2000 5000 10000 20000 40000 80000}
idle=${IDLE-1000 4000 8000 16000}
command_line="SECTIONS=\"$sections\" bench/run.sh $out $rounds $secs"

# A failed step must not leave its server behind (compare.sh stops its own). start_server runs
# in a command substitution, so its servers are not this shell's children: every pid started is
# listed in $pids_file, and the trap stops each one still running.
pids_file="$out/.server-pids"
: >"$pids_file"
# (A pid is stopped only while it is still a ringmcp process: never a recycled pid.)
trap 'while read -r p; do grep -qa ringmcp "/proc/$p/cmdline" 2>/dev/null && stop_server "$p"; done <"$pids_file"; rm -f "$pids_file"' EXIT
start_server() { # args...: prints the pid
    taskset -c "$server_cpu" "$T/ringmcp" serve --cores 1 --max-sessions 1000000 "$@" >/dev/null 2>&1 &
    echo $! >>"$pids_file"
    echo $!
}
. bench/lib.sh
stop_server() {
    stop_pid run.sh "$1"
    sleep 0.3
}
measure() { # label pid load-args...
    local label=$1 pid=$2; shift 2
    local r
    r=$("$T/ringmcp-load" --cpus "$load_cpu" --server-pid "$pid" --json "$@")
    printf '{"label":"%s","result":%s}\n' "$label" "$r" >>"$results"
    python3 bench/summary.py "$label" "$r"
    last_rps=$(python3 -c 'import json,sys; print(int(json.loads(sys.argv[1])["req_per_s"]))' "$r")
}

for section in $sections; do
    [[ $section == peers ]] && plot_inputs+=(--input "$out/peers/results.jsonl")
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
    sweep)
        declare -A saturated=()
        for round in $(seq "$rounds"); do
            for rate in $rates; do
                for path in "tcp echo (legacy session)" "http echo (legacy session)" "http echo (2026-07-28)"; do
                    if [[ -n ${saturated[$path]:-} ]] && ((rate > ${saturated[$path]})); then
                        continue
                    fi
                    case $path in
                    tcp*) args=(--addr 127.0.0.1:7401 --workload echo) ;;
                    *legacy*) args=(--addr 127.0.0.1:7402 --transport http --workload echo) ;;
                    *) args=(--addr 127.0.0.1:7402 --transport http --workload echo-modern) ;;
                    esac
                    pid=$(start_server --tcp 127.0.0.1:7401 --http 127.0.0.1:7402); sleep 0.5
                    measure "sweep $path" "$pid" "${args[@]}" --connections 64 --rate "$rate" --warmup 1 --duration "$secs"
                    stop_server "$pid"
                    ((last_rps * 10 >= rate * 9)) || saturated[$path]=$rate
                done
            done
        done ;;
    peers)
        # compare.sh starts and stops its own servers, ringmcp and the peer alternated.
        mkdir -p "$out/peers"
        RATES="$rates" IDLE="$idle" OUT_DIR="$out/peers" SKIP_BUILD="${SKIP_BUILD:-0}" \
            SERVER_CPU="$server_cpu" LOAD_CPU="$load_cpu" WARMUP="${PEER_WARMUP:-2}" \
            bench/peers/compare.sh "${PEERS:-rmcp-tcp,rmcp-http-stateful,ts-http-stateful}" "$rounds" "$secs" 64 ||
            echo "run.sh: bench/peers/compare.sh reported failures (see $out/peers); the report shows what ran" >&2 ;;
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
            pid=$!; echo "$pid" >>"$pids_file"; sleep 0.5
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
        pid=$!; echo "$pid" >>"$pids_file"; sleep 0.5
        measure "idle http sessions (one process)" "$pid" --addr 127.0.0.1:7407 --transport http --workload sessions --connections 64 --warmup 0 --duration "${SESSION_SECS:-25}"
        stop_server "$pid" ;;
    *) echo "unknown section $section" >&2; exit 2 ;;
    esac
done
"$T/ringmcp-report" "${plot_inputs[@]}" "${tables[@]}" --out "$out" \
    --title "${TITLE:-$(nproc) vCPU, $(uname -r), $(date +%F): $command_line (server CPU $server_cpu, load CPU $load_cpu)}"
