#!/usr/bin/env bash
# One `perf record -g` profile of the server under each client (issue 15, goal 2): is a
# difference in server CPU per request between `ringmcp-load` and `mcp-client-load` the
# kernel's or ours? For each client, a fresh `taskset -c SERVER_CPU ringmcp serve --cores 1`,
# the client pinned to LOAD_CPU (closed loop, C connections, CASE), and 1.5 s into its run
# `perf record -g -p PID -- sleep SECS`; then per client: samples in the kernel / in ringmcp /
# in libc, the top entries (self), and the shares of a few subsystems (children).
#
#   bench/clients_profile.sh [connections=16] [case=http-modern] [seconds=3]
#     case: http-modern (2026-07-28 echo-modern), http-legacy, tcp-legacy
#
# Environment: RINGMCP_BIN (its directory's ringmcp-load unless RINGMCP_LOAD_BIN), CLIENT_BIN,
#   SERVER_CPU (0), LOAD_CPU (1), PORT (7861), OUT_DIR (temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

conns=${1:-16}
kase=${2:-http-modern}
secs=${3:-3}
bin=${RINGMCP_BIN:-target/release/ringmcp}
load_bin=${RINGMCP_LOAD_BIN:-$(dirname "$bin")/ringmcp-load}
client_bin=${CLIENT_BIN:-bench/peers/clients/target/release/mcp-client-load}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
port=${PORT:-7861}
out=${OUT_DIR:-$(mktemp -d /tmp/ringmcp-clients-profile.XXXXXX)}
mkdir -p "$out"
transport=${kase%%-*}
workload=echo
[[ ${kase#*-} == modern ]] && workload=echo-modern

for client in ringmcp-load mcp-client-load; do
    taskset -c "$server_cpu" "$bin" serve --cores 1 "--$transport" "127.0.0.1:$port" --log-level warn \
        >"$out/$client.server.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
    if [[ $client == ringmcp-load ]]; then
        cmd=("$load_bin" --addr "127.0.0.1:$port" --transport "$transport" --workload "$workload"
            --connections "$conns" --cpus "$load_cpu")
    else
        cmd=("$client_bin" --addr "127.0.0.1:$port" "--$transport" --workload "$workload"
            --connections "$conns")
    fi
    echo "$client: loadavg before $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out/$client.loadavg"
    taskset -c "$load_cpu" "${cmd[@]}" --warmup 1 --duration "$(python3 -c "print($secs + 1)")" \
        --server-pid "$pid" --json >"$out/$client.json" &
    lpid=$!
    sleep 1.5
    perf record -g -o "$out/$client.perf.data" -p "$pid" -- sleep "$secs" >/dev/null 2>"$out/$client.perf.err" || true
    wait "$lpid"
    echo "$client: loadavg after $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/$client.loadavg"
    stop_pid bench/clients_profile.sh "$pid"
    perf report -i "$out/$client.perf.data" --no-children --sort dso --stdio 2>/dev/null | grep '%' \
        >"$out/$client.dso.txt" || true
    perf report -i "$out/$client.perf.data" --no-children --sort dso,sym --stdio -g none \
        --percent-limit 0.8 2>/dev/null | grep '%' >"$out/$client.top.txt" || true
    perf report -i "$out/$client.perf.data" --children --sort sym --stdio -g none \
        --percent-limit 2 2>/dev/null | grep '%' >"$out/$client.children.txt" || true
    python3 - "$out/$client.json" "$client" <<'EOF'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(f"{sys.argv[2]}: {r['req_per_s']:.0f} req/s, p50 {r['latency_us']['p50']:.0f} us, server CPU {r.get('server_cpu_us_per_req') or 0:.2f} us/req (under perf), errors {r['errors']}")
EOF
    echo "-- $client: by DSO"; head -6 "$out/$client.dso.txt"
    echo "-- $client: top entries (self)"; head -25 "$out/$client.top.txt"
done
echo "bench/clients_profile.sh: output in $out" >&2
