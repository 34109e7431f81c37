#!/usr/bin/env bash
# Cluster mode's figures on one machine: Redis, ringmcp nodes of one core each, HAProxy round
# robin (tuning/cluster/ configurations), all on loopback. Prints, in order:
#   1. the cost of cluster mode per request: one node with --cluster against the same node
#      without, alternated `rounds` times (server CPU per request, medians and ratio), for a
#      2026-07-28 stateless echo and a legacy-session echo (the hit path), with the Redis commands
#      each request cost (INFO stats, total_commands_processed);
#   2. three nodes behind HAProxy: the share of requests each node served, with ringmcp-load
#      (legacy sessions and 2026-07-28) and with wrk (an ordinary HTTP client, 2026-07-28);
#   3. SESSIONS legacy sessions opened through HAProxy by Python's http.client, one node killed
#      with SIGKILL, every session's next request (bench/cluster_survive.py): how many went on,
#      how long each one's first request after the kill took, Redis bytes per session;
#   4. resource updates between nodes: 2026-07-28 `subscriptions/listen` streams on one node,
#      `bump` sent to the other node (over Redis pub/sub) and to the same node (the baseline), for
#      LISTENERS listeners (default 100 1000 4000): deliveries per second and delivery latency.
#
#   5. notification throughput: THROUGHPUT_LISTENERS (1000) listen streams on one node, `bump`
#      through the other at rising rates (THROUGHPUT_RATES): deliveries per second, latency,
#      Redis CPU per notice;
#   6. chaos (bench/cluster_chaos.py): a random node killed and restarted every CHAOS_PERIOD s
#      for CHAOS_SECS s under load: sessions and stream events lost, errors, latency over time.
#
#   bench/cluster.sh [rounds=3] [seconds=5] [sessions=10000]
#   SECTIONS="cost" bench/cluster.sh 9 5   # only part 1 (cost spread survive notify throughput chaos)
#
# Needs redis-server, haproxy and wrk (installed with apt-get when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
secs=${2:-5}
sessions=${3:-10000}
sections=${SECTIONS:-cost spread survive notify throughput chaos}

need() {
    command -v "$1" >/dev/null 2>&1 && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    else
        echo "bench/cluster.sh needs $1: apt-get install $2" >&2
        exit 2
    fi
}
need redis-server redis-server
need haproxy haproxy
need wrk wrk
cargo build --release -q -p ringmcp -p ringmcp-bench
T=$PWD/target/release
ulimit -n "$(ulimit -Hn)"

dir=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT

RINGMCP_CLUSTER_KEY="k1 $(head -c 32 /dev/urandom | base64 -w0)"
export RINGMCP_CLUSTER_KEY
rport=7690
redis-server tuning/cluster/redis.conf --port "$rport" --dir "$dir" --daemonize no \
    --logfile "$dir/redis.log" &
pids+=($!)
until redis-cli -p "$rport" ping >/dev/null 2>&1; do sleep 0.1; done
rcmds() { redis-cli -p "$rport" info stats | awk -F: '/^total_commands_processed/ {print $2+0}'; }
url=redis://127.0.0.1:$rport

# node CPU PORT [ringmcp serve args...]: a one-core node pinned to CPU; prints its pid.
node() {
    local cpu=$1 port=$2
    shift 2
    taskset -c "$cpu" "$T/ringmcp" serve --cores 1 --http "127.0.0.1:$port" "$@" \
        >"$dir/node-$port.log" 2>&1 &
    local pid=$!
    until curl -fs "http://127.0.0.1:$port/ready" >/dev/null 2>&1; do
        kill -0 "$pid" 2>/dev/null || { cat "$dir/node-$port.log" >&2; exit 1; }
        sleep 0.05
    done
    echo "$pid"
}
stop() { # the nodes are children of command substitutions: poll rather than wait
    kill "$1" 2>/dev/null || true
    while kill -0 "$1" 2>/dev/null; do sleep 0.05; done
}
# wrk_script TOOL ARGS: a wrk script sending one 2026-07-28 `tools/call TOOL` with ARGS (JSON).
wrk_script() {
    cat <<LUA
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"$1","arguments":$2,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "$1"
LUA
}
# Requests a node has answered, from its /metrics.
served() {
    curl -fs "http://127.0.0.1:$1/metrics" |
        awk '/^ringmcp_requests_total/ {n += $NF} END {print n + 0}'
}

if [[ $sections == *cost* ]]; then
echo "== 1. cost of cluster mode, one node, $rounds rounds of ${secs}s (server on CPU 0, load on CPU 1)"
out=$dir/cost.txt
for _ in $(seq "$rounds"); do
    for side in single cluster; do
        args=()
        [ "$side" = cluster ] && args=(--cluster "$url" --node-id bench1)
        pid=$(node 0 7611 "${args[@]}")
        pids+=("$pid")
        for w in echo-modern echo; do
            read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
            c0=$(rcmds)
            r=$("$T/ringmcp-load" --cpus 1 --server-pid "$pid" --addr 127.0.0.1:7611 \
                --transport http --workload "$w" --connections 256 --warmup 1 \
                --duration "$secs" --json)
            c1=$(rcmds)
            read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
            printf '%s|%s|%s|%s|%s|%s\n' "$side" "$w" "$((c1 - c0))" "$((u1 - u0))" "$((s1 - s0))" \
                "$r" >>"$out"
        done
        stop "$pid"
    done
done
python3 - "$out" <<'PY'
import json, statistics, sys
by = {}
for line in open(sys.argv[1]):
    side, w, cmds, u, s, r = line.rstrip("\n").split("|", 5)
    r = json.loads(r)
    # Commands during warm-up and the handshakes count too, over the measured requests: an
    # upper bound of what one request costs. User time (ringmcp's own code) is split off in the
    # proportion of the whole window, as bench/ab.sh does: the kernel's part is the noisy one.
    share = int(u) / max(int(u) + int(s), 1)
    cpu = r["server_cpu_us_per_req"]
    by.setdefault((w, side), []).append(
        (cpu, r["req_per_s"], int(cmds) / max(r["requests"], 1), cpu * share))
med = lambda xs, i: statistics.median(x[i] for x in xs)
for w in ("echo-modern", "echo"):
    s, c = by[(w, "single")], by[(w, "cluster")]
    name = "2026-07-28 stateless" if w == "echo-modern" else "legacy session (hit path)"
    print(f"{name:28} cpu us/req single {med(s, 0):.2f} cluster {med(c, 0):.2f} "
          f"cluster/single {med(c, 0) / med(s, 0):.3f} | user us/req single {med(s, 3):.2f} "
          f"cluster {med(c, 3):.2f} cluster/single {med(c, 3) / med(s, 3):.3f} | req/s single "
          f"{med(s, 1):.0f} cluster {med(c, 1):.0f} | Redis commands/req {med(c, 2):.4f}")
PY
fi

if [[ $sections == *spread* || $sections == *survive* ]]; then
echo "== 2. three nodes behind HAProxy (n1 on CPU 0, n2 on CPU 1, n3 on CPU 0)"
p1=7621 p2=7622 p3=7623 lb=7620
n1=$(node 0 $p1 --cluster "$url" --node-id n1)
n2=$(node 1 $p2 --cluster "$url" --node-id n2)
n3=$(node 0 $p3 --cluster "$url" --node-id n3)
pids+=("$n1" "$n2" "$n3")
RINGMCP_LB_BIND=127.0.0.1:$lb RINGMCP_NODE1=127.0.0.1:$p1 RINGMCP_NODE2=127.0.0.1:$p2 \
    RINGMCP_NODE3=127.0.0.1:$p3 haproxy -db -f tuning/cluster/haproxy.cfg >"$dir/haproxy.log" 2>&1 &
pids+=($!)
until curl -fs "http://127.0.0.1:$lb/ready" >/dev/null 2>&1; do sleep 0.05; done
sleep 1 # every server's first health checks
spread() { # label, then the load command
    local label=$1
    shift
    local a1 a2 a3 b1 b2 b3 result
    a1=$(served $p1) a2=$(served $p2) a3=$(served $p3)
    result=$("$@")
    b1=$(served $p1) b2=$(served $p2) b3=$(served $p3)
    python3 - "$label" "$((b1 - a1))" "$((b2 - a2))" "$((b3 - a3))" "$result" <<'PY'
import sys
label, counts, result = sys.argv[1], [int(x) for x in sys.argv[2:5]], sys.argv[5]
mean = sum(counts) / 3
dev = max(abs(c - mean) / mean * 100 for c in counts) if mean else float("nan")
print(f"{label:40} n1 {counts[0]} n2 {counts[1]} n3 {counts[2]} | max deviation from an "
      f"equal share {dev:.2f}% | {result}")
PY
}
load() {
    "$T/ringmcp-load" --cpus 1 --addr "127.0.0.1:$lb" --transport http --workload "$1" \
        --connections 64 --warmup 1 --duration "$secs" | tail -1
}
if [[ $sections == *spread* ]]; then
spread "ringmcp-load, legacy sessions" load echo
spread "ringmcp-load, 2026-07-28" load echo-modern
wrk_script echo '{"text":"hi"}' >"$dir/modern.lua"
wrk_run() {
    wrk -t 1 -c 64 -d "${secs}s" -s "$dir/modern.lua" "http://127.0.0.1:$lb/mcp" |
        awk '/Requests\/sec/ {r=$2} /Non-2xx/ {e=$NF} END {printf "wrk %s req/s, non-2xx %s", r, e+0}'
}
spread "wrk, 2026-07-28" wrk_run
fi

if [[ $sections == *survive* ]]; then
echo "== 3. $sessions legacy sessions through HAProxy (Python http.client), n2 killed with SIGKILL"
python3 bench/cluster_survive.py "$lb" "$rport" "$n2" "$sessions" 200
fi
stop "$n1"
stop "$n3"
fi

if [[ $sections == *notify* ]]; then
listeners=${LISTENERS:-100 1000 4000}
ups=10
echo "== 4. resource updates between nodes: listen streams on n1 (CPU 0), bump through n2 (CPU 1)"
echo "   or n1 itself, $ups updates/s, 1 s warm-up + ${secs}s per run (ringmcp-load on CPU 1)"
p1=7631 p2=7632
n1=$(node 0 $p1 --cluster "$url" --node-id n1)
n2=$(node 1 $p2 --cluster "$url" --node-id n2)
pids+=("$n1" "$n2")
out=$dir/notify.txt
for n in $listeners; do
    for side in cross same; do
        bump=$p2
        [ "$side" = same ] && bump=$p1
        r=$("$T/ringmcp-load" --cpus 1 --addr "127.0.0.1:$p1" --bump-addr "127.0.0.1:$bump" \
            --transport http --workload listen --connections "$n" --updates-per-sec "$ups" \
            --warmup 1 --duration "$secs" --json)
        printf '%s|%s|%s\n' "$n" "$side" "$r" >>"$out"
    done
done
python3 - "$out" "$ups" <<'PY'
import json, sys
ups = float(sys.argv[2])
print(f"{'listeners':>9} {'bump via':9} {'updates':>7} {'deliveries/s':>12} {'expected/s':>10} "
      f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} errors")
for line in open(sys.argv[1]):
    n, side, r = line.rstrip("\n").split("|", 2)
    r = json.loads(r)
    lat = r["latency_us"]
    where = "n2" if side == "cross" else "n1 (same)"
    print(f"{n:>9} {where:9} {r['updates']:>7} {r['deliveries'] / r['duration_s']:>12.0f} "
          f"{int(n) * ups:>10.0f} {lat['p50'] / 1000:>8.2f} {lat['p99'] / 1000:>8.2f} "
          f"{lat['max'] / 1000:>8.2f} {r['errors'] + r['rpc_errors']}")
PY
stop "$n1"
stop "$n2"
fi

if [[ $sections == *throughput* ]]; then
tl=${THROUGHPUT_LISTENERS:-1000}
rates=${THROUGHPUT_RATES:-25 50 100 200}
echo "== 5. notification throughput between nodes: $tl listen streams on n1 (CPU 0), bump through n2"
echo "   (CPU 1) at rising rates, 1 s warm-up + ${secs}s per run; Redis CPU per 1,000 notices"
p1=7641 p2=7642
n1=$(node 0 $p1 --cluster "$url" --node-id t1)
n2=$(node 1 $p2 --cluster "$url" --node-id t2)
pids+=("$n1" "$n2")
# The notices' own cost in Redis: the script that stores and publishes each (XADD and PUBLISH to
# every shard of every node), from INFO commandstats, reset before each run.
evalstat() { redis-cli -p "$rport" info commandstats | awk -F'[:,=]' '/^cmdstat_eval:/ {print $3, $5}'; }
out=$dir/throughput.txt
for ups in $rates; do
    redis-cli -p "$rport" config resetstat >/dev/null
    r=$("$T/ringmcp-load" --cpus 1 --addr "127.0.0.1:$p1" --bump-addr "127.0.0.1:$p2" \
        --transport http --workload listen --connections "$tl" --updates-per-sec "$ups" \
        --warmup 1 --duration "$secs" --json)
    printf '%s|%s|%s\n' "$ups" "$(evalstat)" "$r" >>"$out"
done
python3 - "$out" "$tl" <<'PY'
import json, sys
n = int(sys.argv[2])
print(f"{'updates/s':>9} {'deliveries/s':>12} {'expected/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
      f"{'errors':>6} {'Redis CPU ms / 1k notices':>26}")
for line in open(sys.argv[1]):
    ups, stat, r = line.rstrip("\n").split("|", 2)
    calls, usec = (stat.split() + ["0", "0"])[:2]
    r = json.loads(r)
    lat = r["latency_us"]
    cpu = float(usec) / max(int(calls), 1)  # microseconds per notice = ms per 1,000
    print(f"{ups:>9} {r['deliveries'] / r['duration_s']:>12.0f} {n * float(ups):>10.0f} "
          f"{lat['p50'] / 1000:>8.2f} {lat['p99'] / 1000:>8.2f} "
          f"{r['errors'] + r['rpc_errors']:>6} {cpu:>26.2f}")
PY
# The notice rate itself: wrk sends 2026-07-28 `bump` calls through n2 as fast as 32 connections go.
wrk_script bump '{}' >"$dir/bump.lua"
redis-cli -p "$rport" config resetstat >/dev/null
w=$(wrk -t 1 -c 32 -d "${secs}s" -s "$dir/bump.lua" "http://127.0.0.1:$p2/mcp" |
    awk '/Requests\/sec/ {r=$2} /Non-2xx/ {e=$NF} END {printf "%s req/s, non-2xx %s", r, e+0}')
read -r calls usec <<<"$(evalstat)"
echo "   notices as fast as wrk sends them (bump through n2, 32 connections, ${secs}s): $w;" \
     "$((calls / secs)) notices/s logged, $(python3 -c "print(round($usec / max($calls, 1), 2))") us of Redis CPU each"
echo "   Redis memory of the notice log: $(redis-cli -p "$rport" memory usage ringmcp:notices) bytes" \
     "for $(redis-cli -p "$rport" xlen ringmcp:notices) entries (capped near --redis-notice-log)"
stop "$n1"
stop "$n2"
fi

if [[ $sections == *chaos* ]]; then
chaos_secs=${CHAOS_SECS:-120}
echo "== 6. chaos: a random node of three killed (SIGKILL) and restarted every ${CHAOS_PERIOD:-6} s for"
echo "   ${chaos_secs} s under load (bench/cluster_chaos.py: Python http.client, legacy sessions,"
echo "   resumed GET streams); timeline in ${CHAOS_OUT:-target/chaos}/chaos.{csv,svg}"
p1=7651 p2=7652 p3=7653 lb=7650
RINGMCP_LB_BIND=127.0.0.1:$lb RINGMCP_NODE1=127.0.0.1:$p1 RINGMCP_NODE2=127.0.0.1:$p2 \
    RINGMCP_NODE3=127.0.0.1:$p3 haproxy -db -f tuning/cluster/haproxy.cfg >"$dir/haproxy-chaos.log" 2>&1 &
pids+=($!)
python3 bench/cluster_chaos.py "$T/ringmcp" "$lb" "$rport" "$p1,$p2,$p3" "${CHAOS_OUT:-target/chaos}" \
    "$chaos_secs" "${CHAOS_PERIOD:-6}" "${CHAOS_WORKERS:-24}" "${CHAOS_STREAMS:-20}"
fi
