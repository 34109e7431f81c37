#!/usr/bin/env bash
# Server CPU per request with an ordinary client beside ringmcp-load (issue 15, goal 2): against
# `ringmcp serve --cores 1` pinned to one CPU, `ringmcp-load` (io_uring, bursts) and
# `mcp-client-load` (bench/peers/clients: tokio + hyper HTTP/1.1, a tokio line client over TCP)
# alternated, rounds interleaved, over HTTP legacy sessions, HTTP 2026-07-28 and TCP legacy
# sessions, at 256 and 16 closed-loop connections. Each run is a fresh server:
#
#   1. measured run: the client with --warmup W --duration S --server-pid PID --json (server CPU
#      per request from /proc/PID/stat, nothing else attached to the server);
#   2. count run, on the same server right after: the same client again, and over PERF_SECS in
#      its steady state the server's kernel entries counted with
#        perf stat --per-thread -e syscalls:sys_enter_io_uring_enter -p PID -- sleep PERF_SECS
#      and the shard thread's voluntary context switches (/proc/PID/task/TID/status), each
#      divided by the requests of that window (the count run's req/s x PERF_SECS). Counting is a
#      run of its own because a syscall tracepoint slows every syscall of the traced process,
#      which would tax the client that makes the server enter the kernel more.
#
# Prints one JSON line per run, then the medians: CPU us/req per client, the ratio
# mcp-client-load / ringmcp-load, io_uring_enter and voluntary context switches per request of
# the shard thread.
#
#   bench/clients.sh [rounds=3] [seconds=5]
#
# Environment: RINGMCP_BIN (a ringmcp binary to use instead of building the workspace; its
#   directory's ringmcp-load too, unless RINGMCP_LOAD_BIN), CLIENT_BIN (an mcp-client-load),
#   SKIP_BUILD=1, CONNS ("256 16"), CASES ("http-legacy http-modern tcp-legacy"; also
#   tcp-modern), WARMUP (2), PERF_SECS (2), COUNT=auto|perf|strace|sched|none (how kernel
#   entries are counted; auto: perf, else strace, else only the sched counters), SERVER_CPU (0),
#   LOAD_CPU (1), PORT_BASE (7800), OUT_DIR (logs and results.jsonl; a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

rounds=${1:-3}
secs=${2:-5}
conns_list=${CONNS:-256 16}
cases=${CASES:-http-legacy http-modern tcp-legacy}
warmup=${WARMUP:-2}
perf_secs=${PERF_SECS:-2}
count=${COUNT:-auto}
server_cpu=${SERVER_CPU:-0}
load_cpu=${LOAD_CPU:-1}
port=${PORT_BASE:-7800}

die() {
    echo "bench/clients.sh: ERROR: $*" >&2
    exit 1
}
note() { echo "bench/clients.sh: $*" >&2; }
num='^[0-9]+([.][0-9]+)?$'
[[ "$rounds" =~ ^[1-9][0-9]*$ && "$secs" =~ $num && "$warmup" =~ $num && "$perf_secs" =~ $num ]] ||
    die "usage: bench/clients.sh [rounds=3] [seconds=5] (WARMUP, PERF_SECS: seconds)"
for c in $conns_list; do [[ "$c" =~ ^[1-9][0-9]*$ ]] || die "CONNS: '$c' is not a count"; done
for c in $cases; do
    case "$c" in http-legacy | http-modern | tcp-legacy | tcp-modern) ;; *) die "CASES: unknown '$c'" ;; esac
done
command -v taskset >/dev/null || die "taskset not found (util-linux)"
command -v python3 >/dev/null || die "python3 not found (used for the medians)"
ncpu=$(nproc)
((server_cpu < ncpu && load_cpu < ncpu)) || die "CPU $server_cpu or $load_cpu does not exist here ($ncpu CPUs)"
((server_cpu != load_cpu)) || note "warning: server and clients share CPU $server_cpu"

# Binaries: the workspace's (built here) unless RINGMCP_BIN names one.
if [[ -n "${RINGMCP_BIN:-}" ]]; then
    ringmcp=$RINGMCP_BIN
    load_bin=${RINGMCP_LOAD_BIN:-$(dirname "$RINGMCP_BIN")/ringmcp-load}
elif [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    note "building ringmcp and ringmcp-load (cargo build --release -p ringmcp -p ringmcp-bench)"
    nice -n 5 cargo build --release -q -p ringmcp -p ringmcp-bench || die "building ringmcp failed"
fi
ringmcp=${ringmcp:-$root/target/release/ringmcp}
load_bin=${load_bin:-${RINGMCP_LOAD_BIN:-$root/target/release/ringmcp-load}}
client_dir=$root/bench/peers/clients
if [[ -n "${CLIENT_BIN:-}" ]]; then
    client_bin=$CLIENT_BIN
else
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
        note "building mcp-client-load (cargo build --release --locked in bench/peers/clients)"
        (cd "$client_dir" && env -u CARGO_TARGET_DIR nice -n 5 cargo build --release -q --locked) ||
            die "building bench/peers/clients failed (a first build needs crates.io)"
    fi
    client_bin=$client_dir/target/release/mcp-client-load
fi
for b in "$ringmcp" "$load_bin" "$client_bin"; do [[ -x "$b" ]] || die "$b missing or not executable"; done

# How kernel entries are counted.
perf_works() { perf stat -x, -e syscalls:sys_enter_io_uring_enter -- true >/dev/null 2>&1; }
strace_works() { strace -qq -c -e trace=io_uring_enter -o /dev/null -- true >/dev/null 2>&1; }
case "$count" in
auto)
    if command -v perf >/dev/null && perf_works; then
        count=perf
    elif command -v strace >/dev/null && strace_works; then
        count=strace
        note "perf cannot count syscalls:sys_enter_io_uring_enter here; counting with strace -c (it slows the traced thread: entries per request are then an upper bound's order of magnitude, not a figure)"
    else
        count=sched
        note "neither perf tracepoints nor strace work here; only voluntary context switches are counted"
    fi
    ;;
perf) perf_works || die "COUNT=perf: perf stat -e syscalls:sys_enter_io_uring_enter does not work here (root? perf_event_paranoid? tracefs?)" ;;
strace) strace_works || die "COUNT=strace: strace does not work here" ;;
sched | none) ;;
*) die "COUNT must be auto, perf, strace, sched or none" ;;
esac

out=${OUT_DIR:-$(mktemp -d /tmp/ringmcp-clients.XXXXXX)}
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"

# Every process this script starts is in `live` until it is waited for; the trap kills those.
live=()
cleanup() {
    local p
    for p in "${live[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${live[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
forget() { # PID: it is gone (waited for)
    local keep=() p
    for p in "${live[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    live=("${keep[@]}")
}
stop() { # PID
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    forget "$1"
}
# fgwait CMD...: run CMD and wait for it, in the background so that a signal to this script is handled
# at once (bash runs traps only between foreground commands, but interrupts `wait`).
fgwait() {
    "$@" &
    local p=$! rc=0
    live+=("$p")
    wait "$p" || rc=$?
    forget "$p"
    return "$rc"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The shard's executor thread: of the threads named ringmcp-shard-* (glommio names its executor
# "<name>-<id>", cut to 15 characters by the kernel; its blocking-pool thread inherits the
# name), the one that has used the most CPU.
shard_tid() {
    local t best="" most=-1 cpu
    for t in /proc/"$1"/task/*; do
        [[ $(cat "$t/comm" 2>/dev/null) == ringmcp-shard* ]] || continue
        cpu=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "$t/stat" 2>/dev/null || echo -1)
        if ((cpu > most)); then
            most=$cpu
            best=${t##*/}
        fi
    done
    echo "$best"
}
vcsw() { awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$1/task/$2/status" 2>/dev/null || echo ""; }

failures=0
# run ROUND CLIENT CASE CONNS: one fresh server, the measured run, the count run; one JSON line.
run() {
    local round=$1 client=$2 kase=$3 conns=$4
    local transport=${kase%%-*} rev=${kase#*-}
    local workload=echo
    [[ $rev == modern ]] && workload=echo-modern
    port=$((port + 1))
    while port_open "$port"; do port=$((port + 1)); done
    local tag="$round.$kase.$conns.$client"
    local log="$out/$tag.server.log"
    taskset -c "$server_cpu" "$ringmcp" serve "--$transport" "127.0.0.1:$port" --cores 1 >"$log" 2>&1 &
    local pid=$!
    live+=("$pid")
    local waited=0
    until port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null || ((waited >= 150)); then
            note "ringmcp did not listen on 127.0.0.1:$port; its log:"
            tail -n 20 "$log" >&2
            stop "$pid"
            failures=$((failures + 1))
            printf '{"round":%s,"client":"%s","case":"%s","connections":%s,"failed":"server did not start"}\n' \
                "$round" "$client" "$kase" "$conns" | tee -a "$results"
            return 0
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    local cmd
    if [[ $client == ringmcp-load ]]; then
        cmd=("$load_bin" --addr "127.0.0.1:$port" --transport "$transport" --workload "$workload"
            --connections "$conns" --cpus "$load_cpu")
    else
        cmd=("$client_bin" --addr "127.0.0.1:$port" "--$transport" --workload "$workload"
            --connections "$conns")
    fi
    local limit rc=0 result
    limit=$(python3 -c "print(int($warmup + $secs + 60))")
    fgwait timeout --kill-after=5 "$limit" taskset -c "$load_cpu" "${cmd[@]}" --warmup "$warmup" \
        --duration "$secs" --server-pid "$pid" --json >"$out/$tag.json" 2>"$out/$tag.err" || rc=$?
    result=$(cat "$out/$tag.json")
    if ((rc != 0)) || [[ $result != "{"* ]]; then
        local why
        why=$(tr '\n"\\' "  /" <"$out/$tag.err" | cut -c1-300)
        note "$tag: $client exited $rc: $why"
        stop "$pid"
        failures=$((failures + 1))
        printf '{"round":%s,"client":"%s","case":"%s","connections":%s,"failed":"exit %s: %s"}\n' \
            "$round" "$client" "$kase" "$conns" "$rc" "$why" | tee -a "$results"
        return 0
    fi

    # The count run: the window lies inside the client's measured window (set-up on loopback
    # takes well under 0.5 s, warm-up 1 s, then PERF_SECS + 1.5 s measured).
    local tid counted="{}" crc=0
    tid=$(shard_tid "$pid")
    if [[ $count != none && -n $tid ]]; then
        local cdur
        cdur=$(python3 -c "print($perf_secs + 1.5)")
        timeout --kill-after=5 "$limit" taskset -c "$load_cpu" "${cmd[@]}" --warmup 1 \
            --duration "$cdur" --server-pid "$pid" --json >"$out/$tag.count.json" 2>"$out/$tag.count.err" &
        local cpid=$!
        live+=("$cpid")
        fgwait sleep 1.5
        local v0 v1 traced="" trc=0
        v0=$(vcsw "$pid" "$tid")
        case "$count" in
        perf)
            fgwait perf stat --per-thread -x, -e syscalls:sys_enter_io_uring_enter -p "$pid" \
                -o "$out/$tag.perf" -- sleep "$perf_secs" >/dev/null 2>&1 || trc=$?
            traced="$out/$tag.perf"
            ;;
        strace)
            fgwait timeout -s INT "$perf_secs" strace -qq -c -e trace=io_uring_enter -p "$tid" \
                -o "$out/$tag.strace" >/dev/null 2>&1 || true
            traced="$out/$tag.strace"
            ;;
        sched) fgwait sleep "$perf_secs" ;;
        esac
        v1=$(vcsw "$pid" "$tid")
        wait "$cpid" || crc=$?
        forget "$cpid"
        ((trc == 0)) || note "$tag: perf stat exited $trc (see $traced)"
        counted=$(python3 - "$count" "$traced" "$tid" "$perf_secs" "$out/$tag.count.json" "$crc" "${v0:-}" "${v1:-}" <<'PY'
import json, sys
method, traced, tid, secs, result, rc, v0, v1 = sys.argv[1:]
secs = float(secs)
out = {"method": method, "secs": secs, "tid": int(tid)}
try:
    r = json.loads(open(result).read().strip().splitlines()[-1])
except Exception:
    r = None
if r is None or rc != "0":
    out["failed"] = f"count run exit {rc}"
    print(json.dumps(out)); sys.exit()
reqs = r["req_per_s"] * secs
out.update(req_per_s=r["req_per_s"], errors=r["errors"], rpc_errors=r["rpc_errors"])
shard = total = None
if method == "perf":
    # CSV of perf stat --per-thread -x,: "comm-tid,count,unit,event,..."; "<not counted>" = 0.
    total = 0
    for line in open(traced):
        f = line.strip().split(",")
        if len(f) < 4 or "io_uring_enter" not in f[3]:
            continue
        name, n = f[0], (int(f[1]) if f[1].isdigit() else 0)
        total += n
        if name.rsplit("-", 1)[-1] == tid:
            shard, out["thread"] = n, name
elif method == "strace":
    for line in open(traced):
        f = line.split()
        if f and f[-1] == "io_uring_enter" and len(f) >= 5:
            shard = int(f[3])
    shard = shard or 0
if shard is not None:
    out["io_uring_enter"] = shard
    out["io_uring_enter_per_req"] = shard / reqs if reqs else None
if total is not None:
    out["process_io_uring_enter_per_req"] = total / reqs if reqs else None
if v0 and v1:
    out["voluntary_ctxsw_per_req"] = (int(v1) - int(v0)) / reqs if reqs else None
print(json.dumps(out))
PY
)
    fi
    stop "$pid"
    printf '{"round":%s,"client":"%s","case":"%s","connections":%s,"result":%s,"count":%s}\n' \
        "$round" "$client" "$kase" "$conns" "$result" "$counted" | tee -a "$results"
}

note "ringmcp: $ringmcp; ringmcp-load: $load_bin; mcp-client-load: $client_bin"
note "server on CPU $server_cpu, clients on CPU $load_cpu; ${rounds} rounds x ${secs} s (+${warmup} s warm-up); counting: $count over ${perf_secs} s; out: $out"
note "machine: $(uname -srm), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
    for conns in $conns_list; do
        for kase in $cases; do
            # Odd rounds ringmcp-load first, even rounds mcp-client-load first.
            if ((r % 2)); then order=(ringmcp-load mcp-client-load); else order=(mcp-client-load ringmcp-load); fi
            for client in "${order[@]}"; do
                run "$r" "$client" "$kase" "$conns"
            done
        done
    done
done
note "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
def f(x, fmt):
    return format(x, fmt) if x is not None else "-"
groups = {}
for r in rows:
    groups.setdefault((r["case"], r["connections"]), {}).setdefault(r["client"], []).append(r)
print()
print(f"{'case':12} {'conns':>5} {'client':16} {'runs':>4} {'req/s':>8} {'p50 us':>7} {'p99 us':>7} "
      f"{'srv busy%':>9} {'CPU us/req':>10} {'vs load':>7} {'enter/req':>9} {'vcsw/req':>8} {'errors':>6}")
ratios = []
for (case, conns), by in sorted(groups.items(), key=lambda kv: (kv[0][0], -kv[0][1])):
    base = None
    for client in ("ringmcp-load", "mcp-client-load"):
        rs = by.get(client, [])
        ok = [r for r in rs if "result" in r]
        res = [r["result"] for r in ok]
        cnt = [r.get("count") or {} for r in ok]
        cpu = med(x["server_cpu_us_per_req"] for x in res)
        rps = med(x["req_per_s"] for x in res)
        busy = cpu * rps / 1e4 if cpu is not None and rps is not None else None
        errs = sum(x["errors"] + x["rpc_errors"] for x in res) + sum(
            c.get("errors", 0) + c.get("rpc_errors", 0) for c in cnt) + (len(rs) - len(ok))
        vs = None
        if client == "ringmcp-load":
            base = cpu
        elif base and cpu is not None:
            vs = cpu / base
            ratios.append((case, conns, vs))
        print(f"{case:12} {conns:5} {client:16} {len(ok):4} {f(rps, '8.0f')} "
              f"{f(med(x['latency_us']['p50'] for x in res), '7.0f')} {f(med(x['latency_us']['p99'] for x in res), '7.0f')} "
              f"{f(busy, '9.0f')} {f(cpu, '10.2f')} {f(vs, '7.2f')} "
              f"{f(med(c.get('io_uring_enter_per_req') for c in cnt), '9.3f')} "
              f"{f(med(c.get('voluntary_ctxsw_per_req') for c in cnt), '8.3f')} {errs:6}")
print()
print("vs load = mcp-client-load's server CPU per request / ringmcp-load's (medians); goal 2: <= 1.10")
print("enter/req = io_uring_enter calls of the shard thread per request, vcsw/req = its voluntary")
print("context switches (sleeps) per request, both from the count run; srv busy% = CPU us/req x req/s")
if any(r.get("failed") for r in rows):
    print("some runs failed: see the JSON lines above")
PY
echo "bench/clients.sh: results in $results" >&2
((failures == 0)) || die "$failures run(s) failed"
