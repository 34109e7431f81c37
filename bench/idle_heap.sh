#!/usr/bin/env bash
# Heap profile of idle connections (issue 15, goal 5): what is still allocated per idle
# connection, by allocation site, after the idle release (a connection quiet for a second gives
# its send, outbox and codec buffers back in the once-a-second sweep).
#
#   bench/idle_heap.sh KIND [connections=4000] [out=/tmp/idle-heap]
#     KIND: tcp          TCP, legacy session (`--workload echo`: initialize, then tools/call echo)
#           http-modern  HTTP, stateless 2026-07-28 (`--workload echo-modern`), after >= 1 request
#           http-legacy  HTTP, legacy session (`--workload echo`)
#           http-sessions  HTTP legacy sessions alone: `--workload sessions` (initialize only) on
#                        N connections for SESSION_SECS (2) s, then the connections close; the
#                        sessions stay (divide by the sessions made: open_session's call count)
#           none         no connections: the baseline the others are compared with
#
# Steps: `taskset -c SERVER_CPU heaptrack -o OUT/KIND-N ringmcp serve --cores 1 --tcp|--http`;
# `taskset -c LOAD_CPU ringmcp-load --connections N --interval INTERVAL ...`; once every
# connection is established, HOLD seconds (> INTERVAL: every connection has sent >= 1 request)
# later the load generator is frozen with SIGSTOP (its sockets stay open, it sends nothing more),
# QUIET seconds later (> 2: the idle sweep has run) the server's RSS is read and the server is
# killed with SIGKILL. heaptrack's "leaked" bytes (allocated and never freed) are then exactly
# the bytes live at that moment. Then the load generator is killed.
#
# Output in OUT: KIND-N.zst (heaptrack data), KIND-N.leaks.txt (heaptrack_print --print-leaks),
# KIND-N.stacks (collapsed stacks weighted by live bytes), KIND-N.rss (VmRSS/RssAnon before the
# load, and frozen), KIND-N.load.txt (the load generator's output).
# With NO_HEAPTRACK=1 the same run without heaptrack (RSS only: what heaptrack adds is not in it);
# then, if gdb is there, malloc_stats() (into KIND-N-rss.server.log: per arena, "system bytes"
# = what malloc holds from the kernel, "in use bytes" = its chunks in use, headers included), and
# the RSS after malloc_trim(0) (free pages inside the heap handed back).
#
# Environment: RINGMCP_BIN (ringmcp; its directory's ringmcp-load unless RINGMCP_LOAD_BIN),
#   SERVER_CPU (0), LOAD_CPU (1), PORT (7831), INTERVAL (10), HOLD (INTERVAL + 3), QUIET (3),
#   NO_HEAPTRACK.
set -euo pipefail
cd "$(dirname "$0")/.."

kind=${1:?usage: bench/idle_heap.sh tcp|http-modern|http-legacy|none [connections] [out]}
n=${2:-4000}
out=${3:-/tmp/idle-heap}
bin=${RINGMCP_BIN:-target/release/ringmcp}
load_bin=${RINGMCP_LOAD_BIN:-$(dirname "$bin")/ringmcp-load}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
port=${PORT:-7831}
interval=${INTERVAL:-10}
hold=${HOLD:-$((interval + 3))}
quiet=${QUIET:-3}
mkdir -p "$out"

case "$kind" in
    tcp) listen=(--tcp "127.0.0.1:$port"); load=(--workload echo) ;;
    http-modern) listen=(--http "127.0.0.1:$port"); load=(--transport http --workload echo-modern) ;;
    http-legacy) listen=(--http "127.0.0.1:$port"); load=(--transport http --workload echo) ;;
    http-sessions) listen=(--http "127.0.0.1:$port"); load=(--transport http --workload sessions) ;;
    none) listen=(--tcp "127.0.0.1:$port"); load=(); n=0 ;;
    *) echo "bench/idle_heap.sh: unknown kind '$kind'" >&2; exit 1 ;;
esac
name="$out/$kind-$n"
[[ -n "${NO_HEAPTRACK:-}" ]] && name="$name-rss"

rss() { awk '/^(VmRSS|RssAnon):/ {printf "%s %s kB  ", $1, $2}' "/proc/$1/status"; echo; }

# The server process: heaptrack runs it as a child of its own script.
if [[ -n "${NO_HEAPTRACK:-}" ]]; then
    taskset -c "$server_cpu" "$bin" serve --cores 1 "${listen[@]}" --log-level warn >"$name.server.log" 2>&1 &
    spid=$!
    wrapper=$spid
else
    rm -f "$name".zst "$name".gz
    taskset -c "$server_cpu" heaptrack -o "$name" "$bin" serve --cores 1 "${listen[@]}" --log-level warn \
        >"$name.server.log" 2>&1 &
    wrapper=$!
    spid=
    for _ in $(seq 100); do
        spid=$(pgrep -P "$wrapper" -x ringmcp || true)
        [[ -n "$spid" ]] && break
        sleep 0.1
    done
    [[ -n "$spid" ]] || { echo "bench/idle_heap.sh: no ringmcp under heaptrack ($wrapper)" >&2; exit 1; }
fi
for _ in $(seq 100); do
    ss -Hltn "sport = :$port" | grep -q . && break
    sleep 0.1
done
sleep 1
echo "server $spid; uptime: $(uptime)" | tee "$name.rss"
echo "before: $(rss "$spid")" | tee -a "$name.rss"
if [[ -n "${NO_HEAPTRACK:-}" ]] && command -v gdb >/dev/null; then
    echo "== malloc_stats before the load" >>"$name.server.log"
    gdb -p "$spid" -batch -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || echo "gdb failed" >&2
    echo "before (after gdb): $(rss "$spid")" | tee -a "$name.rss"
fi

lpid=
if [[ "$kind" == http-sessions ]]; then
    taskset -c "$load_cpu" "$load_bin" --addr "127.0.0.1:$port" "${load[@]}" --connections "$n" \
        --warmup 0 --duration "${SESSION_SECS:-2}" >"$name.load.txt" 2>&1
    cat "$name.load.txt"
elif ((n > 0)); then
    taskset -c "$load_cpu" "$load_bin" --addr "127.0.0.1:$port" "${load[@]}" --connections "$n" \
        --interval "$interval" --warmup 1 --duration 600 >"$name.load.txt" 2>&1 &
    lpid=$!
    for _ in $(seq 300); do
        est=$(ss -Htn state established "sport = :$port" | wc -l)
        ((est >= n)) && break
        sleep 0.1
    done
    echo "established: $est" | tee -a "$name.rss"
    sleep "$hold"
    kill -STOP "$lpid"
fi
sleep "$quiet"
echo "frozen: $(rss "$spid") established $(ss -Htn state established "sport = :$port" | wc -l)" | tee -a "$name.rss"
grep -E '^(Rss|Anonymous|Private_Dirty)' "/proc/$spid/smaps_rollup" >>"$name.rss" || true
if [[ -n "${NO_HEAPTRACK:-}" ]] && command -v gdb >/dev/null; then
    # malloc's own view (its statistics go to the server's stderr, the log), then what
    # malloc_trim(0) gives back: free pages inside the heap that RSS still counts.
    echo "== malloc_stats frozen, then after malloc_trim(0)" >>"$name.server.log"
    gdb -p "$spid" -batch -ex 'call (void)malloc_stats()' -ex 'call (int)malloc_trim(0)' \
        -ex 'call (void)malloc_stats()' >/dev/null 2>&1 || echo "gdb failed" >&2
    echo "after malloc_trim(0): $(rss "$spid")" | tee -a "$name.rss"
fi
echo "uptime after: $(uptime)" | tee -a "$name.rss"
kill -KILL "$spid"
wait "$wrapper" 2>/dev/null || true
if [[ -n "$lpid" ]]; then
    kill -KILL "$lpid" 2>/dev/null || true
    wait "$lpid" 2>/dev/null || true
fi
if [[ -z "${NO_HEAPTRACK:-}" ]]; then
    data=
    for f in "$name".zst "$name".gz; do [[ -f "$f" ]] && data=$f; done
    heaptrack_print -f "$data" --print-leaks 1 --print-peaks 0 --print-allocators 0 \
        --print-temporary 0 >"$name.leaks.txt"
    heaptrack_print -f "$data" --print-peaks 0 --print-allocators 0 --print-temporary 0 \
        --flamegraph-cost-type leaked -F "$name.stacks" >/dev/null
    grep -E '^(total memory leaked|peak heap|calls to allocation)' "$name.leaks.txt" || tail -5 "$name.leaks.txt"
fi
