#!/usr/bin/env bash
# ringmcp side by side with a peer MCP server, in one run: rounds alternate the two servers (odd
# rounds ringmcp first, even rounds the peer first), each run a fresh server process pinned to one
# CPU and ringmcp-load (closed loop, workload echo) pinned to another. Prints one line per run, then
# per comparison the medians over the rounds and the ratios
#   throughput:  ringmcp req/s / peer req/s                        (> 1: ringmcp serves more)
#   CPU:         peer server-CPU-us per request / ringmcp's         (> 1: ringmcp spends less)
# Server CPU is read by ringmcp-load from /proc/PID/stat (utime+stime of every thread of the
# server process) over the measured window (--server-pid).
#
#   bench/peers/compare.sh [COMPARISON] [rounds=3] [seconds=5] [connections=256]
#   COMPARISON: rmcp-tcp | rmcp-http-stateful | rmcp-http-stateless |
#               ts-http-stateful | ts-http-stateless | all      (default all),
#               or several, comma-separated (rmcp-tcp,ts-http-stateful)
#
# Besides the closed loop (the default), two other kinds of run, for the report's plots
# (ringmcp-report groups them by server):
#   RATES="5000 10000 20000 40000 80000"  open-loop sweep: at each offered rate (ringmcp-load
#       --rate, requests due whatever the server does, latency from when each was due), ascending,
#       with [connections] connections; a server that served < 90% of a rate is not offered the
#       higher ones (it is saturated: only its queue would grow).
#   IDLE="1000 4000 8000 16000"  idle connections, each with its session, one request per
#       connection every 30 s (ringmcp-load --interval 30), 1 s warm-up + 3 s: server memory added
#       per connection.
#   With RATES and/or IDLE set, only those run (sweep first), each point alternating ringmcp and
#   the peer like the rounds; every line of results.jsonl carries "kind" (closed, sweep, idle) and
#   "point" (the rate or the connection count).
#
# Environment: SERVER_CPU (0), LOAD_CPU (1), WARMUP seconds (3; Node needs it for its JIT), PORT_BASE (7700),
#   SCHED=normal|nice|fifo (how the server and the load generator are scheduled, see below),
#   SKIP_BUILD=1 (use target/release and the peers as built), OUT_DIR (where logs and results.jsonl go).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
peers="$root/bench/peers"

which=${1:-all}
rounds=${2:-3}
secs=${3:-5}
conns=${4:-256}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
warmup=${WARMUP:-3}
port=${PORT_BASE:-7700}
# SCHED: how the server and the load generator are scheduled. normal (default); nice: at nice -10
# (root), ahead of background work; fifo: SCHED_FIFO 1 (chrt -f 1, root), so that background work,
# even at nice 19, cannot delay their wake-ups, at the price of no time slicing between the
# threads of one server on its one CPU (README: pitfalls).
sched_policy=${SCHED:-normal}
case "$sched_policy" in
normal) rt=() ;;
nice) rt=(nice -n -10) ;;
fifo) rt=(chrt -f 1) ;;
*) echo "compare.sh: ERROR: SCHED must be normal, nice or fifo" >&2; exit 1 ;;
esac

die() {
    echo "compare.sh: ERROR: $*" >&2
    exit 1
}
all=(rmcp-tcp rmcp-http-stateful rmcp-http-stateless ts-http-stateful ts-http-stateless)
selected=()
IFS=, read -r -a asked <<<"$which"
for w in "${asked[@]}"; do
    case "$w" in
    all) selected+=("${all[@]}") ;;
    rmcp-tcp | rmcp-http-stateful | rmcp-http-stateless | ts-http-stateful | ts-http-stateless) selected+=("$w") ;;
    *) die "unknown comparison '$w'; one of: ${all[*]} all (or several, comma-separated)" ;;
    esac
done
((${#selected[@]})) || die "no comparison given"
rates=(${RATES:-})
idle=(${IDLE:-})
for v in "${rates[@]}" "${idle[@]}"; do
    [[ "$v" =~ ^[1-9][0-9]*$ ]] || die "RATES and IDLE are lists of positive integers (got '$v')"
done
[[ "$rounds" =~ ^[1-9][0-9]*$ && "$secs" =~ ^[0-9]+([.][0-9]+)?$ && "$conns" =~ ^[1-9][0-9]*$ ]] ||
    die "usage: bench/peers/compare.sh [${all[*]}|all] [rounds=3] [seconds=5] [connections=256]"
# Idle runs hold thousands of connections (both ends in this machine's file table).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
command -v taskset >/dev/null || die "taskset not found (util-linux)"
command -v python3 >/dev/null || die "python3 not found (used for the medians)"
ncpu=$(nproc)
((server_cpu < ncpu && load_cpu < ncpu)) || die "CPU $server_cpu or $load_cpu does not exist here ($ncpu CPUs)"
((server_cpu != load_cpu)) || echo "compare.sh: warning: server and load generator share CPU $server_cpu" >&2

T=target/release
need_rmcp=0 need_ts=0
for c in "${selected[@]}"; do
    [[ $c == rmcp-* ]] && need_rmcp=1
    [[ $c == ts-* ]] && need_ts=1
done
if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "compare.sh: building ringmcp and ringmcp-load (cargo build --release -p ringmcp-bench -p ringmcp)" >&2
    nice -n 5 cargo build --release -q -p ringmcp-bench -p ringmcp || die "building ringmcp failed"
    ((need_rmcp)) && { "$peers/build.sh" rmcp || die "building the rmcp peer failed"; }
    ((need_ts)) && { "$peers/build.sh" ts || die "building the TypeScript peer failed"; }
fi
[[ -x $T/ringmcp && -x $T/ringmcp-load ]] || die "$T/ringmcp or $T/ringmcp-load missing (unset SKIP_BUILD)"
rmcp_bin="$peers/rmcp-server/target/release/rmcp-server"
((need_rmcp == 0)) || [[ -x $rmcp_bin ]] || die "$rmcp_bin missing: run bench/peers/build.sh rmcp"
((need_ts == 0)) || [[ -d $peers/ts-server/node_modules/@modelcontextprotocol/sdk ]] ||
    die "bench/peers/ts-server/node_modules missing: run bench/peers/build.sh ts"

# ringmcp-load learns HTTP (--transport http) separately; without it the HTTP comparisons are skipped.
http_ok=0
"$T/ringmcp-load" --help 2>/dev/null | grep -q -- '--transport' && http_ok=1
runnable=()
for c in "${selected[@]}"; do
    if [[ $c == *-http-* ]] && ((http_ok == 0)); then
        echo "compare.sh: skipping $c: $T/ringmcp-load has no --transport http yet" >&2
    else
        runnable+=("$c")
    fi
done
((${#runnable[@]})) || die "nothing to run"

rmcp_version=$(python3 -c 'import re,sys; print(re.search(r"name = \"rmcp\"\nversion = \"([^\"]+)\"", open(sys.argv[1]).read()).group(1))' \
    "$peers/rmcp-server/Cargo.lock" 2>/dev/null || echo "?")
sdk_version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["packages"]["node_modules/@modelcontextprotocol/sdk"]["version"])' \
    "$peers/ts-server/package-lock.json" 2>/dev/null || echo "?")
out=${OUT_DIR:-$(mktemp -d /tmp/ringmcp-peers.XXXXXX)}
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"

pids=()
. bench/lib.sh
stop() {
    stop_pid compare.sh "$1"
}
cleanup() {
    local p
    for p in "${pids[@]}"; do
        stop "$p"
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# "run_ns wait_ns" of process PID, summed over its threads (/proc/PID/task/*/schedstat: time on a
# CPU, time runnable but waiting for one; precise, unlike the tick-sampled /proc/stat).
sched_ns() {
    { cat /proc/"$1"/task/*/schedstat 2>/dev/null || true; } | awk '{ r += $1; w += $2 } END { printf "%d %d\n", r, w }'
}
now_ns() { date +%s%N; }

# run COMPARISON SIDE NAME TRANSPORT CMD... : start CMD pinned to server_cpu on the next port (the
# literal PORT in CMD is replaced), load it, append one JSON line to results.jsonl. The kind of
# run is in kind (closed, sweep, idle) and point (sweep: the offered rate; idle: connections);
# the served req/s is left in last_rps (0 when the run failed).
failures=0
kind=closed point=""
last_rps=0
run() {
    local cmp=$1 side=$2 name=$3 transport=$4
    shift 4
    last_rps=0
    port=$((port + 1))
    while port_open "$port"; do port=$((port + 1)); done
    local cmd=("${@//PORT/$port}")
    local log="$out/$cmp.$side.$port.log"
    "${rt[@]}" taskset -c "$server_cpu" "${cmd[@]}" >"$log" 2>&1 &
    local pid=$!
    pids=("$pid") # one server at a time; only a live one is ever killed by cleanup
    local waited=0
    until port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null || ((waited >= 150)); then
            echo "compare.sh: $name did not start listening on 127.0.0.1:$port; its log:" >&2
            tail -n 20 "$log" >&2
            stop "$pid"
            pids=()
            failures=$((failures + 1))
            printf '{"comparison":"%s","side":"%s","server":"%s","kind":"%s","point":"%s","failed":"did not start"}\n' "$cmp" "$side" "$name" "$kind" "$point" >>"$results"
            return 0
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    local load=("$T/ringmcp-load" --addr "127.0.0.1:$port" --workload echo --cpus "$load_cpu" --server-pid "$pid" --json)
    case $kind in
    closed) load+=(--connections "$conns" --warmup "$warmup" --duration "$secs") ;;
    sweep) load+=(--connections "$conns" --rate "$point" --warmup "$warmup" --duration "$secs") ;;
    idle) load+=(--connections "$point" --interval 30 --warmup 1 --duration 3) ;;
    esac
    [[ $transport == http ]] && load+=(--transport http --path /mcp)
    local result rc=0 limit
    # Idle runs set up N connections and sessions first (Node needs over a minute for 16,000).
    limit=$(python3 -c "print(int($warmup + $secs + 60 + ('$kind' == 'idle') * int('${point:-0}') / 50))")
    # The load generator runs in the background so that its own scheduling can be sampled too
    # (its threads, shortly before it ends); the server's is sampled over the whole load run.
    local lerr="$out/$cmp.$side.$port.load.err" lout="$out/$cmp.$side.$port.load.json"
    local t0 s0 t1 s1 g0="" g1="" gt0 gt1 gpid=""
    t0=$(now_ns)
    s0=$(sched_ns "$pid")
    timeout --kill-after=5 "$limit" "${rt[@]}" taskset -c "$load_cpu" "${load[@]}" >"$lout" 2>"$lerr" &
    local lpid=$!
    sleep 0.2
    gpid=$(pgrep -P "$lpid" | head -n1 || true)
    if [[ -n $gpid ]]; then
        gt0=$(now_ns)
        g0=$(sched_ns "$gpid")
        # The last sample taken while it still runs.
        local g
        while kill -0 "$gpid" 2>/dev/null; do
            sleep 0.25
            g=$(sched_ns "$gpid")
            [[ $g == "0 0" ]] && break
            g1=$g
            gt1=$(now_ns)
        done
        [[ -n $g1 ]] || g0=""
    fi
    wait "$lpid" || rc=$?
    t1=$(now_ns)
    s1=$(sched_ns "$pid")
    result=$(cat "$lout")
    stop "$pid"
    pids=()
    if ((rc != 0)) || [[ $result != "{"* ]]; then
        local why
        why=$(tr '\n"\\' "  /" <"$out/$cmp.$side.$port.load.err" | cut -c1-300)
        echo "compare.sh: $cmp $name: ringmcp-load exited $rc: $why" >&2
        tail -n 5 "$log" >&2
        failures=$((failures + 1))
        printf '{"comparison":"%s","side":"%s","server":"%s","kind":"%s","point":"%s","failed":"ringmcp-load exit %s: %s"}\n' \
            "$cmp" "$side" "$name" "$kind" "$point" "$rc" "$why" >>"$results"
        return 0
    fi
    # Contention: the share of wall time the server's threads (and the load generator's) were
    # runnable but waiting for their CPU, i.e. something else ran there.
    local sched
    sched=$(python3 -c '
import json, sys
t0, t1 = int(sys.argv[1]), int(sys.argv[2])
s0, s1 = [list(map(int, x.split())) for x in sys.argv[3:5]]
out = {"server_run_pct": round(100 * (s1[0] - s0[0]) / (t1 - t0), 1),
       "server_wait_pct": round(100 * (s1[1] - s0[1]) / (t1 - t0), 1)}
if sys.argv[5] and sys.argv[6]:
    g0, g1 = [list(map(int, x.split())) for x in sys.argv[5:7]]
    dt = int(sys.argv[8]) - int(sys.argv[7])
    # A thread that exits takes its counts with it: then there is no reading.
    if g1[0] >= g0[0] and g1[1] >= g0[1] and dt > 0:
        out["load_run_pct"] = round(100 * (g1[0] - g0[0]) / dt, 1)
        out["load_wait_pct"] = round(100 * (g1[1] - g0[1]) / dt, 1)
print(json.dumps(out))' "$t0" "$t1" "$s0" "$s1" "$g0" "$g1" "${gt0:-0}" "${gt1:-0}" 2>/dev/null || echo null)
    printf '{"comparison":"%s","side":"%s","server":"%s","kind":"%s","point":"%s","sched":%s,"result":%s}\n' \
        "$cmp" "$side" "$name" "$kind" "$point" "$sched" "$result" >>"$results"
    last_rps=$(python3 -c 'import json,sys; print(int(json.loads(sys.argv[1])["req_per_s"]))' "$result" 2>/dev/null || echo 0)
    python3 - "$cmp" "$name" "$result" "$sched" "$kind" "$point" <<'PY'
import json, sys
r = json.loads(sys.argv[3]); l = r["latency_us"]; cpu = r.get("server_cpu_us_per_req"); sc = json.loads(sys.argv[4]) or {}
busy = cpu * r["req_per_s"] / 1e4 if cpu else None
at = {"sweep": f"offered {sys.argv[6]}/s", "idle": f"idle N={sys.argv[6]}"}.get(sys.argv[5], "closed loop")
extra = f"  {r['server_rss_bytes_per_connection']:.0f} B/conn" if sys.argv[5] == "idle" and r.get("server_rss_bytes_per_connection") is not None else ""
print(f"  {sys.argv[1]:20} {sys.argv[2]:34} {at:18} {r['req_per_s']:9.0f} req/s  p50 {l['p50']:7.0f} us  "
      f"p99 {l['p99']:7.0f} us  CPU {cpu if cpu is None else round(cpu, 2)} us/req  errors {r['errors']}/{r['rpc_errors']}  "
      f"server busy {busy if busy is None else round(busy)}% waited {sc.get('server_wait_pct')}%  "
      f"load gen busy {sc.get('load_run_pct')}% waited {sc.get('load_wait_pct')}%{extra}")
PY
}

ringmcp_cmd() { # transport
    if [[ $1 == tcp ]]; then
        echo "$T/ringmcp serve --tcp 127.0.0.1:PORT --cores 1"
    else
        echo "$T/ringmcp serve --http 127.0.0.1:PORT --cores 1"
    fi
}

echo "== ringmcp vs peers: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -srm), $ncpu CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
echo "   load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "   server pinned to CPU $server_cpu (taskset -c $server_cpu); ringmcp-load pinned to CPU $load_cpu (taskset -c $load_cpu, --cpus $load_cpu)"
echo "   scheduling: $sched_policy${rt[*]:+ (${rt[*]} on the server and the load generator)}"
if ((${#rates[@]} + ${#idle[@]})); then
    ((${#rates[@]})) && echo "   open-loop sweep, workload echo, $conns connections, offered ${rates[*]} req/s (a saturated server is not offered more)"
    ((${#idle[@]})) && echo "   idle connections with their sessions, N = ${idle[*]}, one tools/call echo per connection every 30 s, 1 s + 3 s"
else
    echo "   closed loop, workload echo (initialize + notifications/initialized, then tools/call echo with 64 bytes of text), $conns connections"
fi
echo "   busy % = server CPU time / wall time over the measured window (100 = the server's CPU saturated);"
echo "   srv wait % / load wait % = share of wall time the server's (load generator's) threads were runnable but waiting"
echo "   for their CPU (/proc/PID/task/*/schedstat): something else ran there; load busy % = the load generator's CPU use"
echo "   $rounds rounds x ${secs} s measured (+${warmup} s warm-up), ringmcp and the peer alternated; results: $results"
# The points of one round: "closed" (the default), or the sweep's rates and the idle counts.
points=()
for v in "${rates[@]}"; do points+=("sweep:$v"); done
for v in "${idle[@]}"; do points+=("idle:$v"); done
((${#points[@]})) || points=("closed:")
declare -A saturated=() # "comparison side" -> the rate it fell behind at
for r in $(seq "$rounds"); do
    for c in "${runnable[@]}"; do
        case $c in
        rmcp-tcp) transport=tcp peer_name="rmcp $rmcp_version --tcp" peer=("$rmcp_bin" --tcp 127.0.0.1:PORT --workers 1) ;;
        rmcp-http-stateful) transport=http peer_name="rmcp $rmcp_version http stateful" peer=("$rmcp_bin" --http 127.0.0.1:PORT --mode stateful --workers 1) ;;
        rmcp-http-stateless) transport=http peer_name="rmcp $rmcp_version http stateless" peer=("$rmcp_bin" --http 127.0.0.1:PORT --mode stateless --workers 1) ;;
        ts-http-stateful) transport=http peer_name="ts-sdk $sdk_version http stateful" peer=(node "$peers/ts-server/server.mjs" --port PORT --mode stateful) ;;
        ts-http-stateless) transport=http peer_name="ts-sdk $sdk_version http stateless" peer=(node "$peers/ts-server/server.mjs" --port PORT --mode stateless) ;;
        esac
        read -r -a ours <<<"$(ringmcp_cmd "$transport")"
        for pt in "${points[@]}"; do
            kind=${pt%%:*} point=${pt#*:}
            sides=(ringmcp peer)
            ((r % 2 == 1)) || sides=(peer ringmcp)
            for side in "${sides[@]}"; do
                if [[ $kind == sweep && -n ${saturated["$c $side"]:-} ]] && ((point > ${saturated["$c $side"]})); then
                    continue
                fi
                if [[ $side == ringmcp ]]; then
                    run "$c" ringmcp "ringmcp $transport --cores 1" "$transport" "${ours[@]}"
                else
                    run "$c" peer "$peer_name" "$transport" "${peer[@]}"
                fi
                # A saturated server (served < 90% of the offered rate) is offered no more.
                if [[ $kind == sweep ]] && ((last_rps * 10 < point * 9)); then
                    saturated["$c $side"]=$point
                fi
            done
        done
    done
done
echo "   load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
order = []
by = {}
def point(row):
    k, p = row.get("kind", "closed"), row.get("point", "")
    return {"sweep": f" open loop {p}/s", "idle": f" idle N={p}"}.get(k, "")

for row in rows:
    c = row["comparison"] + point(row)
    if c not in by:
        order.append(c)
        by[c] = {"ringmcp": [], "peer": [], "sched_ringmcp": [], "sched_peer": [], "names": {}, "failed": []}
    by[c]["names"][row["side"]] = row["server"]
    if "failed" in row:
        by[c]["failed"].append(f'{row["server"]}: {row["failed"]}')
    else:
        by[c][row["side"]].append(row["result"])
        by[c]["sched_" + row["side"]].append(row.get("sched") or {})

def med(rs, f):
    vals = [f(x) for x in rs if f(x) is not None]
    return statistics.median(vals) if vals else None

def fmt(v, spec):
    return format(v, spec) if v is not None else "n/a"

for c in order:
    d = by[c]
    print()
    print(f"-- {c}: medians of {max(len(d['ringmcp']), len(d['peer']))} rounds")
    print(f"{'server':34} {'req/s':>9} {'p50 us':>8} {'p90 us':>8} {'p99 us':>8} {'p99.9 us':>9} "
          f"{'max us':>8} {'CPU us/req':>10} {'busy %':>6} {'RSS MiB':>8} {'errors':>7} {'rpc_err':>7} {'srv wait %':>10} {'load busy %':>11} {'load wait %':>11}")
    m = {}
    for side in ("ringmcp", "peer"):
        rs = d[side]
        if not rs:
            continue
        m[side] = {
            "rps": med(rs, lambda x: x["req_per_s"]),
            "cpu": med(rs, lambda x: x.get("server_cpu_us_per_req")),
        }
        lat = lambda q: med(rs, lambda x: x["latency_us"][q])
        rss = med(rs, lambda x: x.get("server_rss_bytes"))
        busy = med(rs, lambda x: x["server_cpu_us_per_req"] * x["req_per_s"] / 1e4 if x.get("server_cpu_us_per_req") else None)
        sw = med(d["sched_" + side], lambda x: x.get("server_wait_pct"))
        lb = med(d["sched_" + side], lambda x: x.get("load_run_pct"))
        lw = med(d["sched_" + side], lambda x: x.get("load_wait_pct"))
        m[side].update(busy=busy, srv_wait=sw, load_busy=lb, load_wait=lw)
        print(f"{d['names'][side]:34} {fmt(m[side]['rps'], '9.0f')} {fmt(lat('p50'), '8.0f')} {fmt(lat('p90'), '8.0f')} "
              f"{fmt(lat('p99'), '8.0f')} {fmt(lat('p999'), '9.0f')} {fmt(lat('max'), '8.0f')} "
              f"{fmt(m[side]['cpu'], '10.2f')} {fmt(busy, '6.0f')} {fmt(rss / 2**20 if rss else None, '8.1f')} "
              f"{sum(x['errors'] for x in rs):7d} {sum(x['rpc_errors'] for x in rs):7d} {fmt(sw, '10.1f')} {fmt(lb, '11.0f')} {fmt(lw, '11.1f')}")
    for side in ("ringmcp", "peer"):
        if d[side]:
            print(f"  req/s per round, {d['names'][side]}: " + ", ".join(f"{x['req_per_s']:.0f}" for x in d[side]))
    if "ringmcp" in m and "peer" in m and m["peer"]["rps"]:
        ratio = m["ringmcp"]["rps"] / m["peer"]["rps"]
        cpu = (m["peer"]["cpu"] / m["ringmcp"]["cpu"]) if m["peer"]["cpu"] and m["ringmcp"]["cpu"] else None
        print(f"  ratio throughput  ringmcp req/s / peer req/s             = {ratio:.2f}")
        print(f"  ratio CPU         peer CPU us/req / ringmcp CPU us/req   = {fmt(cpu, '.2f')}")
    for side in ("ringmcp", "peer"):
        if side not in m:
            continue
        x, name = m[side], d["names"][side]
        notes = []
        if x["busy"] is not None and x["busy"] < 90:
            notes.append(f"its CPU was only {x['busy']:.0f}% busy, so its req/s is bounded by the round trip through the load "
                         f"generator (or other load), not by its CPU" + ("; the throughput ratio is a lower bound" if side == "ringmcp" else ""))
        waits = [f"the {what} waited {v:.0f}%" for what, v in (("server", x["srv_wait"]), ("load generator", x["load_wait"])) if v is not None and v > 5]
        if waits:
            notes.append(" and ".join(waits) + " of the time for its CPU (other load ran there): noisy")
        if notes:
            print(f"  note, {name}: " + "; ".join(notes))
    for f in d["failed"]:
        print(f"  FAILED {f}")
PY
trap - EXIT
cleanup
echo
echo "logs and results.jsonl in $out"
((failures == 0)) || die "$failures run(s) failed (see above and $out)"
