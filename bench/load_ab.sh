#!/usr/bin/env bash
# Two load-generator binaries alternated against one server, for a change to ringmcp-load's own
# cost (issue 16: it reads answers with the client's HTTP framing now). Each round starts a fresh
# server pinned to CPU 0 (one shard), then runs OLD and NEW ringmcp-load (each first in turn;
# workers pinned to CPU 1 with `--cpus 1`, 256 connections, 1 s warm-up) on TCP echo, HTTP
# legacy echo, HTTP 2026-07-28 echo and HTTP 2026-07-28 listen (100 updates/s to every
# listener).
#
# The figure is the load generator's CPU per answer: user + system of the whole process (from
# /usr/bin/time) over warm-up and window, divided by req/s times their length (set-up is under
# 1% of it); per delivery for listen, where set-up and idle waits weigh more (read that one as a
# ratio only). Nine tenths of it is the kernel's socket path, where this VM's noise is, so the
# generator's own code is measured apart: the run is sampled with `perf record` (cpu-clock, 999
# Hz; when perf is installed) and the share of samples outside the kernel, times the CPU per
# answer, is its user part. Prints medians and new/old, and the server's CPU per request as a
# check that both loaded it alike.
#
#   flock /tmp/ringmcp-cargo.lock bench/load_ab.sh SERVER OLD-LOAD NEW-LOAD [rounds=3] [seconds=4]
#
# It builds nothing (run it under the build lock so no build competes for the two CPUs). It
# stops every server it starts, also when interrupted.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
server=${1:?server binary (ringmcp)}
old=${2:?old ringmcp-load}
new=${3:?new ringmcp-load}
rounds=${4:-3}
secs=${5:-4}
warm=1
ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
pid=
cleanup() {
    [ -n "$pid" ] && stop_pid load_ab "$pid"
    rm -rf "$work"
}
trap cleanup EXIT
sample=()
command -v perf >/dev/null && sample=(perf record -q -F 999 -e cpu-clock -o "$work/perf.data" --)
# Share of perf samples outside the kernel, in percent ("-" without perf).
user_share() {
    [ ${#sample[@]} = 0 ] && { echo -; return; }
    perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null |
        awk '/^ +[0-9.]+%/ && !/kernel/ { s += $1 } END { printf "%.3f\n", s }'
}
workloads=(
    "tcp|--workload echo"
    "http|--transport http --workload echo"
    "http|--transport http --workload echo-modern"
    "http|--transport http --workload listen --updates-per-sec 100"
)
for round in $(seq "$rounds"); do
    taskset -c 0 "$server" serve --cores 1 --tcp 127.0.0.1:7611 --http 127.0.0.1:7612 \
        >/dev/null 2>&1 &
    pid=$!
    sleep 0.5
    # The order alternates: the server holds more sessions after each legacy run.
    order="old new"; [ $((round % 2)) = 0 ] && order="new old"
    for side in $order; do
        bin=$old; [ "$side" = new ] && bin=$new
        for entry in "${workloads[@]}"; do
            port=7611; [ "${entry%%|*}" = http ] && port=7612
            w=${entry#*|}
            # shellcheck disable=SC2086 # $w is a list of arguments
            "${sample[@]}" /usr/bin/time -f "%U %S" -o "$work/time" "$bin" --cpus 1 \
                --server-pid "$pid" --addr "127.0.0.1:$port" $w --connections 256 \
                --warmup "$warm" --duration "$secs" --json >"$work/out"
            printf '%s|%s|%s|%s|%s\n' "$side" "$w" "$(cat "$work/time")" "$(user_share)" \
                "$(cat "$work/out")" >>"$work/results"
        done
    done
    stop_pid load_ab "$pid"
    pid=
    echo "round $round of $rounds done" >&2
done
python3 - "$work/results" "$warm" "$secs" <<'PY'
import json, statistics, sys
warm, secs = float(sys.argv[2]), float(sys.argv[3])
by = {}
for line in open(sys.argv[1]):
    side, w, t, share, r = line.rstrip("\n").split("|", 4)
    r = json.loads(r)
    per_s = r["deliveries"] / secs if "listen" in w else r["req_per_s"]
    if r["errors"] or r["rpc_errors"]:
        print(f"warning: {side} {w}: errors {r['errors']} rpc_errors {r['rpc_errors']}",
              file=sys.stderr)
    cpu = sum(map(float, t.split())) * 1e6 / (per_s * (warm + secs))
    user = cpu * float(share) / 100 if share != "-" else float("nan")
    by.setdefault((w, side), []).append((cpu, user, r["server_cpu_us_per_req"] or 0.0, per_s))
med = lambda xs, i: statistics.median(x[i] for x in xs)
print("load generator CPU per answer and its user part (us), server CPU per request (us), "
      "answers/s; medians")
print(f"{'workload':58} {'cpu old':>8} {'new':>7} {'new/old':>7} | {'user old':>8} {'new':>6} "
      f"{'new/old':>7} | {'server old':>10} {'new':>6} | {'per s old':>9} {'new':>7}")
for w in dict.fromkeys(k[0] for k in by):
    o, n = by[(w, "old")], by[(w, "new")]
    print(f"{w:58} {med(o, 0):8.3f} {med(n, 0):7.3f} {med(n, 0) / med(o, 0):7.3f} | "
          f"{med(o, 1):8.3f} {med(n, 1):6.3f} {med(n, 1) / med(o, 1):7.3f} | "
          f"{med(o, 2):10.2f} {med(n, 2):6.2f} | {med(o, 3):9.0f} {med(n, 3):7.0f}")
PY
