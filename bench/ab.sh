#!/usr/bin/env bash
# Two server binaries alternated in one run, for a change's effect on CPU per request: each round
# starts OLD then NEW pinned to CPU 0 (one shard), and ringmcp-load on CPU 1 measures TCP echo,
# HTTP legacy echo and HTTP 2026-07-28 echo at 256 connections. Prints the medians and new/old.
#
#   bench/ab.sh OLD-BINARY NEW-BINARY [rounds=3] [seconds=4]
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
for _ in $(seq "$rounds"); do
    for side in old new; do
        bin=$old; [ "$side" = new ] && bin=$new
        taskset -c 0 "$bin" serve --cores 1 --tcp 127.0.0.1:7511 --http 127.0.0.1:7512 >/dev/null 2>&1 &
        pid=$!; sleep 0.5
        for w in "--workload echo" "--transport http --workload echo" "--transport http --workload echo-modern"; do
            port=7511; [[ $w == *http* ]] && port=7512
            # shellcheck disable=SC2086 # $w is a list of arguments
            r=$("$T/ringmcp-load" --cpus 1 --server-pid "$pid" --addr "127.0.0.1:$port" $w \
                --connections 256 --warmup 1 --duration "$secs" --json)
            printf '%s|%s|%s\n' "$side" "$w" "$r" >>"$out"
        done
        kill "$pid"; wait "$pid" 2>/dev/null || true
    done
done
python3 - "$out" <<'PY'
import json, statistics, sys
by = {}
for line in open(sys.argv[1]):
    side, w, r = line.rstrip("\n").split("|", 2)
    by.setdefault((w, side), []).append(json.loads(r))
for w in dict.fromkeys(k[0] for k in by):
    cpu = {s: statistics.median(x["server_cpu_us_per_req"] for x in by[(w, s)]) for s in ("old", "new")}
    rps = {s: statistics.median(x["req_per_s"] for x in by[(w, s)]) for s in ("old", "new")}
    print(f"{w:40} old {cpu['old']:.2f} us/req {rps['old']:.0f}/s  new {cpu['new']:.2f} us/req "
          f"{rps['new']:.0f}/s  new/old {cpu['new'] / cpu['old']:.3f}")
PY
