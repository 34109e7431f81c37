#!/usr/bin/env bash
# Tail and fairness at C closed-loop connections (issue 15, goal 6: p99 <= 1.5x p50, no
# connection starved across turns). For each case and round, a fresh
# `taskset -c SERVER_CPU ringmcp serve --cores 1` and `ringmcp-load --cpus LOAD_CPU --connections C
# --warmup W --duration S --server-pid PID --json`; while it runs, the server's per-socket
# `bytes_received` (`ss -tin`) is read twice inside the measured window, so each connection's
# requests in that span are counted on the server's side (ringmcp-load reports no per-connection
# figures): min / median / max of requests per connection, and min/median.
#
#   bench/tail.sh [rounds=3] [seconds=4] [connections=256]
#
# Environment: RINGMCP_BIN (ringmcp; its directory's ringmcp-load unless RINGMCP_LOAD_BIN),
#   CASES ("tcp-legacy http-modern"; also http-legacy, tcp-modern), WARMUP (1), SERVER_CPU (0),
#   LOAD_CPU (1), PORT (7841), OUT_DIR (a temporary directory; results.jsonl there).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

rounds=${1:-3}
secs=${2:-4}
conns=${3:-256}
bin=${RINGMCP_BIN:-target/release/ringmcp}
load_bin=${RINGMCP_LOAD_BIN:-$(dirname "$bin")/ringmcp-load}
cases=${CASES:-tcp-legacy http-modern}
warmup=${WARMUP:-1}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
port=${PORT:-7841}
out=${OUT_DIR:-$(mktemp -d /tmp/ringmcp-tail.XXXXXX)}
mkdir -p "$out"
: >"$out/results.jsonl"

# Per-socket bytes received by the server on $port: "peer bytes" lines.
snapshot() {
    ss -Htin state established "sport = :$port" | awk '
        /^[0-9]/ || /127\.0\.0\.1/ { if ($0 ~ /:'"$port"' /) peer = $NF }
        { if (match($0, /bytes_received:[0-9]+/)) { print peer, substr($0, RSTART + 15, RLENGTH - 15) } }'
}

# sleep_until START EXPR: sleep until START (date +%s.%N) + EXPR seconds.
sleep_until() {
    local d
    d=$(awk -v s="$1" -v n="$(date +%s.%N)" "BEGIN { d = s + $2 - n; print (d > 0 ? d : 0) }")
    sleep "$d"
}

for round in $(seq "$rounds"); do
    for c in $cases; do
        case "$c" in
            tcp-legacy) listen=(--tcp "127.0.0.1:$port"); load=(--workload echo) ;;
            tcp-modern) listen=(--tcp "127.0.0.1:$port"); load=(--workload echo-modern) ;;
            http-legacy) listen=(--http "127.0.0.1:$port"); load=(--transport http --workload echo) ;;
            http-modern) listen=(--http "127.0.0.1:$port"); load=(--transport http --workload echo-modern) ;;
            *) echo "bench/tail.sh: unknown case $c" >&2; exit 1 ;;
        esac
        taskset -c "$server_cpu" "$bin" serve --cores 1 "${listen[@]}" --log-level warn >"$out/$c-$round.server.log" 2>&1 &
        pid=$!
        for _ in $(seq 50); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
        up_before=$(cut -d' ' -f1-3 /proc/loadavg)
        "$load_bin" --addr "127.0.0.1:$port" "${load[@]}" --cpus "$load_cpu" --connections "$conns" \
            --warmup "$warmup" --duration "$secs" --server-pid "$pid" --json >"$out/$c-$round.json" &
        lpid=$!
        started=$(date +%s.%N)
        # Inside the window: from warmup + 0.5 s (set-up is short at this C) to 1 s before its
        # end, timed from the load generator's start.
        sleep_until "$started" "$warmup + 0.5"
        snapshot >"$out/$c-$round.ss0"
        t0=$(date +%s.%N)
        sleep_until "$started" "$warmup + $secs - 1"
        snapshot >"$out/$c-$round.ss1"
        t1=$(date +%s.%N)
        wait "$lpid"
        up_after=$(cut -d' ' -f1-3 /proc/loadavg)
        stop_pid bench/tail.sh "$pid"
        python3 - "$out" "$c" "$round" "$t0" "$t1" "$up_before" "$up_after" <<'EOF' | tee -a "$out/results.jsonl"
import json, statistics, sys
out, case, rnd, t0, t1, ub, ua = sys.argv[1:8]
r = json.load(open(f"{out}/{case}-{rnd}.json"))
def snap(p):
    d = {}
    for line in open(p):
        peer, n = line.split()
        d[peer] = int(n)
    return d
a, b = snap(f"{out}/{case}-{rnd}.ss0"), snap(f"{out}/{case}-{rnd}.ss1")
deltas = sorted(b[k] - a[k] for k in b if k in a)
# Bytes of one request: the window's bytes over the requests ringmcp-load counted at its rate.
span = float(t1) - float(t0)
total = sum(deltas)
req_bytes = total / (r["req_per_s"] * span) if r["req_per_s"] else 0
reqs = [d / req_bytes for d in deltas] if req_bytes else []
med = statistics.median(reqs) if reqs else 0
print(json.dumps({
    "case": case, "round": int(rnd), "connections": r["connections"],
    "req_per_s": round(r["req_per_s"]), "p50_us": r["latency_us"]["p50"], "p99_us": r["latency_us"]["p99"],
    "p99_over_p50": round(r["latency_us"]["p99"] / r["latency_us"]["p50"], 3),
    "server_cpu_us_per_req": r["server_cpu_us_per_req"], "errors": r["errors"], "rpc_errors": r["rpc_errors"],
    "fair_span_s": round(span, 2), "fair_conns_seen": len(deltas), "request_bytes": round(req_bytes, 1),
    "reqs_per_conn_min": round(min(reqs), 1) if reqs else None, "reqs_per_conn_median": round(med, 1),
    "reqs_per_conn_max": round(max(reqs), 1) if reqs else None,
    "min_over_median": round(min(reqs) / med, 3) if med else None,
    "max_over_median": round(max(reqs) / med, 3) if med else None,
    "loadavg_before": ub, "loadavg_after": ua,
}))
EOF
    done
done
python3 - "$out/results.jsonl" <<'EOF'
import json, statistics, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1])]
by = collections.defaultdict(list)
for r in rows: by[r["case"]].append(r)
print("| case | C | runs | req/s | p50 | p99 | p99/p50 (median of runs) | req/conn min / median / max | min/median | server CPU us/req |")
print("|---|---|---|---|---|---|---|---|---|---|")
for c, rs in by.items():
    m = lambda k: statistics.median([r[k] for r in rs if r[k] is not None] or [float("nan")])
    print(f"| {c} | {rs[0]['connections']} | {len(rs)} | {m('req_per_s'):,.0f} | {m('p50_us'):,.0f} us | {m('p99_us'):,.0f} us | "
          f"{m('p99_over_p50'):.2f} | {m('reqs_per_conn_min'):.0f} / {m('reqs_per_conn_median'):.0f} / {m('reqs_per_conn_max'):.0f} | "
          f"{m('min_over_median'):.2f} | {m('server_cpu_us_per_req'):.2f} |")
EOF
echo "bench/tail.sh: results in $out/results.jsonl" >&2
