#!/usr/bin/env bash
# Resource-update fan-out against a bare send of the same bytes (issue 15, goal 6: server CPU
# per listener <= 1.1x a bare send). Alternated per round, for each N:
#
#   ringmcp: `taskset -c SERVER_CPU ringmcp serve --cores 1 --tcp`, N legacy TCP sessions
#     subscribed to demo://counter and one updater calling `bump` UPDATES/N... times a second
#     (`taskset -c LOAD_CPU ringmcp-load --cpus LOAD_CPU --workload listen --connections N
#     --updates-per-sec U`); the server's CPU (utime + stime, /proc/PID/stat) over a span inside
#     the measured window, divided by the deliveries in it (ringmcp-load's deliveries/s x span).
#   bare: `fanout_bare send` (bench/fanout_bare.c, built with cc -O2) on SERVER_CPU: N accepted
#     loopback connections, the same 95-byte line written to each with one send(2) per update at
#     the same rate, its own CPU per send (getrusage); `fanout_bare recv` on LOAD_CPU reads them.
#
# With PERF=1, one more ringmcp run per N under `perf record -g -p PID` for PERF_SECS (its CPU
# is not used for the ratio), and `perf report` into OUT_DIR: the kernel/user split and the top
# entries, and the share under io_uring's send (`io_send`) and under `tcp_sendmsg`.
#
#   bench/fanout.sh [rounds=3] [seconds=5]
#
# Environment: RINGMCP_BIN (its directory's ringmcp-load unless RINGMCP_LOAD_BIN), NS ("1000
#   4000"), DELIVERIES (40000: deliveries per second, U = DELIVERIES / N), SERVER_CPU (0),
#   LOAD_CPU (1), PORT (7851), PERF (0), PERF_SECS (3), OUT_DIR (temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

rounds=${1:-3}
secs=${2:-5}
bin=${RINGMCP_BIN:-target/release/ringmcp}
load_bin=${RINGMCP_LOAD_BIN:-$(dirname "$bin")/ringmcp-load}
ns=${NS:-1000 4000}
deliveries=${DELIVERIES:-40000}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
port=${PORT:-7851}
perf_secs=${PERF_SECS:-3}
out=${OUT_DIR:-$(mktemp -d /tmp/ringmcp-fanout.XXXXXX)}
mkdir -p "$out"
: >"$out/results.jsonl"
cc -O2 -o "$out/fanout_bare" bench/fanout_bare.c
# The notification ringmcp writes to a TCP subscriber:
# {"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":"demo://counter"}}\n
bytes=95
tick() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

ringmcp_run() { # n u round [perf]
    local n=$1 u=$2 round=$3 perf=${4:-} pid lpid c0 c1 t0 t1 est
    taskset -c "$server_cpu" "$bin" serve --cores 1 --tcp "127.0.0.1:$port" --log-level warn \
        >"$out/ringmcp-$n-$round$perf.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
    local ub; ub=$(cut -d' ' -f1-3 /proc/loadavg)
    taskset -c "$load_cpu" "$load_bin" --addr "127.0.0.1:$port" --cpus "$load_cpu" --workload listen \
        --connections "$n" --updates-per-sec "$u" --warmup 1 --duration "$secs" --json \
        >"$out/ringmcp-$n-$round$perf.json" &
    lpid=$!
    for _ in $(seq 300); do
        est=$(ss -Htn state established "sport = :$port" | wc -l)
        ((est > n)) && break
        sleep 0.05
    done
    sleep 1.3
    if [[ -n "$perf" ]]; then
        perf record -g -o "$out/perf-ringmcp-$n.data" -p "$pid" -- sleep "$perf_secs" \
            >/dev/null 2>"$out/perf-ringmcp-$n.err" || true
    else
        c0=$(tick "$pid"); t0=$(date +%s.%N)
        sleep "$(python3 -c "print(max(1, $secs - 1.6))")"
        c1=$(tick "$pid"); t1=$(date +%s.%N)
    fi
    wait "$lpid"
    stop_pid bench/fanout.sh "$pid"
    [[ -n "$perf" ]] && return 0
    python3 - "$out/ringmcp-$n-$round.json" "$n" "$u" "$round" "$c0" "$c1" "$t0" "$t1" "$hz" "$ub" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF' | tee -a "$out/results.jsonl"
import json, sys
p, n, u, rnd, c0, c1, t0, t1, hz, ub, ua = sys.argv[1:12]
r = json.load(open(p))
span = float(t1) - float(t0)
rate = r["deliveries"] / r["duration_s"]
cpu_us = (int(c1) - int(c0)) / int(hz) * 1e6
print(json.dumps({"impl": "ringmcp", "listeners": int(n), "updates_per_sec": float(u), "round": int(rnd),
    "deliveries_per_s": round(rate), "expected_per_s": int(n) * float(u), "errors": r["errors"],
    "p50_us": r["latency_us"]["p50"], "p99_us": r["latency_us"]["p99"],
    "cpu_us_per_delivery": round(cpu_us / (rate * span), 3), "server_busy": round(cpu_us / 1e6 / span, 3),
    "loadavg_before": ub, "loadavg_after": ua}))
EOF
}

bare_run() { # n u round
    local n=$1 u=$2 round=$3 spid rpid ub
    ub=$(cut -d' ' -f1-3 /proc/loadavg)
    taskset -c "$server_cpu" "$out/fanout_bare" send "$port" "$n" "$u" 1.5 "$secs" "$bytes" \
        >"$out/bare-$n-$round.json" &
    spid=$!
    for _ in $(seq 50); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
    taskset -c "$load_cpu" "$out/fanout_bare" recv "$port" "$n" &
    rpid=$!
    wait "$spid"
    wait "$rpid" || true
    python3 - "$out/bare-$n-$round.json" "$round" "$ub" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF' | tee -a "$out/results.jsonl"
import json, sys
r = json.load(open(sys.argv[1])); r["round"] = int(sys.argv[2])
r["loadavg_before"], r["loadavg_after"] = sys.argv[3], sys.argv[4]
print(json.dumps(r))
EOF
}

for round in $(seq "$rounds"); do
    for n in $ns; do
        u=$(python3 -c "print($deliveries / $n)")
        if ((round % 2)); then
            ringmcp_run "$n" "$u" "$round"; bare_run "$n" "$u" "$round"
        else
            bare_run "$n" "$u" "$round"; ringmcp_run "$n" "$u" "$round"
        fi
    done
done
if [[ "${PERF:-0}" == 1 ]]; then
    for n in $ns; do
        u=$(python3 -c "print($deliveries / $n)")
        ringmcp_run "$n" "$u" 0 -perf
        perf report -i "$out/perf-ringmcp-$n.data" --no-children --sort dso,sym --percent-limit 0.7 \
            --stdio 2>/dev/null | grep -v '^$' | grep -v '^#' | grep '%' | head -40 >"$out/perf-ringmcp-$n.top.txt"
        perf report -i "$out/perf-ringmcp-$n.data" --children --sort sym --percent-limit 1 \
            --stdio -g none 2>/dev/null | grep '%' | head -60 >"$out/perf-ringmcp-$n.children.txt"
        perf report -i "$out/perf-ringmcp-$n.data" --no-children --sort dso --stdio 2>/dev/null |
            grep '%' >"$out/perf-ringmcp-$n.dso.txt"
    done
fi
python3 - "$out/results.jsonl" <<'EOF'
import json, statistics, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1])]
by = collections.defaultdict(list)
for r in rows: by[(r["listeners"], r["impl"])].append(r)
print("| listeners | updates/s | ringmcp CPU us/delivery | bare send(2) CPU us/send (user / sys) | ratio | ringmcp p50 / p99 | rounds |")
print("|---|---|---|---|---|---|---|")
for n in sorted({k[0] for k in by}):
    a, b = by.get((n, "ringmcp"), []), by.get((n, "bare send(2)"), [])
    if not a or not b: continue
    ra = statistics.median(r["cpu_us_per_delivery"] for r in a)
    rb = statistics.median(r["cpu_us_per_send"] for r in b)
    ub = statistics.median(r["user_us_per_send"] for r in b); sb = statistics.median(r["sys_us_per_send"] for r in b)
    print(f"| {n:,} | {a[0]['updates_per_sec']:g} | {ra:.2f} | {rb:.2f} ({ub:.2f} / {sb:.2f}) | {ra/rb:.2f} | "
          f"{statistics.median(r['p50_us'] for r in a)/1000:.2f} / {statistics.median(r['p99_us'] for r in a)/1000:.2f} ms | {len(a)} |")
EOF
echo "bench/fanout.sh: results in $out" >&2
