#!/usr/bin/env bash
# Two server binaries alternated in one run, for a change's effect on CPU per request: each round
# starts OLD then NEW pinned to CPU 0 (one shard), and ringmcp-load on CPU 1 measures TCP echo,
# HTTP legacy echo and HTTP 2026-07-28 echo at 256 connections. Prints the medians and new/old of
# the server's CPU per request, in all and split into user time (ringmcp's own code) and system
# time (the kernel, two thirds of it on this path and the noisiest part on a VM).
#
#   bench/ab.sh OLD-BINARY NEW-BINARY [rounds=3] [seconds=4]
#
# OLD_ARGS / NEW_ARGS add server options to one side, so that one binary can be run against
# itself with an option on (`NEW_ARGS="--sqpoll-idle-ms 10" bench/ab.sh B B`).
set -euo pipefail
cd "$(dirname "$0")/.."
old=${1:?old ringmcp binary}
new=${2:?new ringmcp binary}
rounds=${3:-3}
secs=${4:-4}
cargo build --release -q -p ringmcp-bench
T=target/release
ulimit -n "$(ulimit -Hn)"
out=$(mktemp)
# utime and stime of a process, in clock ticks.
cpu() { awk '{print $14, $15}' "/proc/$1/stat"; }
for _ in $(seq "$rounds"); do
    for side in old new; do
        bin=$old; extra=${OLD_ARGS:-}
        [ "$side" = new ] && bin=$new && extra=${NEW_ARGS:-}
        # shellcheck disable=SC2086 # $extra is a list of arguments
        taskset -c 0 "$bin" serve --cores 1 --tcp 127.0.0.1:7511 --http 127.0.0.1:7512 $extra >/dev/null 2>&1 &
        pid=$!; sleep 0.5
        for w in "--workload echo" "--transport http --workload echo" "--transport http --workload echo-modern"; do
            port=7511; [[ $w == *http* ]] && port=7512
            read -r u0 s0 < <(cpu "$pid")
            # shellcheck disable=SC2086 # $w is a list of arguments
            r=$("$T/ringmcp-load" --cpus 1 --server-pid "$pid" --addr "127.0.0.1:$port" $w \
                --connections 256 --warmup 1 --duration "$secs" --json)
            read -r u1 s1 < <(cpu "$pid")
            printf '%s|%s|%s|%s|%s\n' "$side" "$w" "$((u1 - u0))" "$((s1 - s0))" "$r" >>"$out"
        done
        kill "$pid"; wait "$pid" 2>/dev/null || true
    done
done
python3 - "$out" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
tick = int(sys.argv[2])
by = {}
for line in open(sys.argv[1]):
    side, w, u, s, r = line.rstrip("\n").split("|", 4)
    r = json.loads(r)
    # user/system cover warm-up and measured window alike, so they are split in the measured
    # figure's proportion rather than divided by the measured requests alone.
    share = int(u) / max(int(u) + int(s), 1)
    by.setdefault((w, side), []).append(
        (r["server_cpu_us_per_req"], r["server_cpu_us_per_req"] * share, r["req_per_s"]))
med = lambda xs, i: statistics.median(x[i] for x in xs)
for w in dict.fromkeys(k[0] for k in by):
    o, n = by[(w, "old")], by[(w, "new")]
    parts = []
    for i, name in ((0, "cpu"), (1, "user")):
        parts.append(f"{name} old {med(o, i):.2f} new {med(n, i):.2f} us/req new/old {med(n, i) / med(o, i):.3f}")
    print(f"{w:40} " + " | ".join(parts) + f" | req/s old {med(o, 2):.0f} new {med(n, 2):.0f}")
PY
