#!/usr/bin/env bash
# A local ringmcp cluster for trying it: Redis, N ringmcp nodes and HAProxy round robin in front,
# all on loopback, all files in a fresh temporary directory. Prints the front address and runs
# until Ctrl-C or SIGTERM, then stops every process it started (by PID) and removes the directory
# (unless --keep).
#
#   tuning/cluster/local-cluster.sh                      # 3 nodes, front on 127.0.0.1:8080
#   tuning/cluster/local-cluster.sh --nodes 5 --lb-port 9000 --bin target/release/ringmcp
#
# Needs redis-server and haproxy (Debian: apt-get install redis-server haproxy).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
nodes=3
lb_port=8080
node_port=8081
redis_port=6380
bin=""
keep=0
cluster=1

usage() {
    cat <<EOF
usage: $0 [options]
  --nodes N         ringmcp nodes (default $nodes)
  --lb-port P       HAProxy front port (default $lb_port)
  --node-port P     first node's port; node K listens on P+K-1 (default $node_port)
  --redis-port P    Redis port (default $redis_port)
  --bin PATH        ringmcp binary (default: ringmcp on PATH, else target/release or target/debug)
  --no-cluster      no Redis and no --cluster: nodes share only the key ring (2026-07-28
                    requests work across nodes, legacy sessions do not)
  --keep            keep the temporary directory (logs, Redis files) after stopping
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --nodes) nodes="$2"; shift 2 ;;
    --lb-port) lb_port="$2"; shift 2 ;;
    --node-port) node_port="$2"; shift 2 ;;
    --redis-port) redis_port="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --no-cluster) cluster=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
    esac
done

if [ -z "$bin" ]; then
    root="$(cd "$here/../.." && pwd)"
    for b in "$(command -v ringmcp || true)" "$root/target/release/ringmcp" "$root/target/debug/ringmcp"; do
        if [ -n "$b" ] && [ -x "$b" ]; then bin="$b"; break; fi
    done
fi
[ -n "$bin" ] && [ -x "$bin" ] || { echo "no ringmcp binary: build it or give --bin" >&2; exit 2; }
need=(haproxy)
[ "$cluster" = 1 ] && need+=(redis-server)
for tool in "${need[@]}"; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || [ -x "/usr/bin/$tool" ] || {
        echo "$tool not found: apt-get install redis-server haproxy" >&2
        exit 2
    }
done
PATH="$PATH:/usr/sbin"

dir="$(mktemp -d -t ringmcp-cluster.XXXXXX)"
pids=()

stop() {
    trap - INT TERM EXIT
    # Reverse order: the front first, so no request reaches a node that is stopping.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "$keep" = 1 ]; then
        echo "files kept in $dir" >&2
    else
        rm -rf "$dir"
    fi
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# Waits until 127.0.0.1:$1 answers `GET $2` with 200 (bash's /dev/tcp: no curl needed).
wait_http() {
    local port="$1" path="$2" pid="$3" name="$4" line
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || { echo "$name exited; its log:" >&2; cat "$dir/$name.log" >&2; exit 1; }
        if { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
            IFS= read -r -t 2 line <&3 || line=""
            exec 3>&- 3<&-
            case "$line" in "HTTP/1."?" 200"*) return 0 ;; esac
        fi
        sleep 0.1
    done
    echo "$name did not answer $path on port $port; its log:" >&2
    cat "$dir/$name.log" >&2
    exit 1
}

# One key ring for all nodes: each opens the cursors and requestState the others sealed.
printf 'k1 %s\n' "$(head -c 32 /dev/urandom | base64 -w0)" >"$dir/cluster.keys"
chmod 600 "$dir/cluster.keys"

cluster_args=()
if [ "$cluster" = 1 ]; then
    mkdir -p "$dir/redis"
    redis-server "$here/redis.conf" --port "$redis_port" --dir "$dir/redis" \
        --daemonize no >"$dir/redis.log" 2>&1 &
    pids+=("$!")
    for _ in $(seq 1 100); do
        if { exec 3<>"/dev/tcp/127.0.0.1/$redis_port"; } 2>/dev/null; then
            printf 'PING\r\n' >&3
            IFS= read -r -t 2 line <&3 || line=""
            exec 3>&- 3<&-
            case "$line" in "+PONG"*) break ;; esac
        fi
        kill -0 "${pids[0]}" 2>/dev/null || { cat "$dir/redis.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "redis: 127.0.0.1:$redis_port (files in $dir/redis)"
    cluster_args=(--cluster "redis://127.0.0.1:$redis_port")
fi

backends=()
backups=()
for ((k = 1; k <= nodes; k++)); do
    port=$((node_port + k - 1))
    node_args=(serve --http "127.0.0.1:$port" --cluster-key-file "$dir/cluster.keys")
    [ "$cluster" = 1 ] && node_args+=("${cluster_args[@]}" --node-id "n$k")
    "$bin" "${node_args[@]}" >"$dir/n$k.log" 2>&1 &
    pids+=("$!")
    wait_http "$port" /ready "$!" "n$k"
    echo "node n$k: http://127.0.0.1:$port/mcp (log $dir/n$k.log)"
    backends+=("    server n$k 127.0.0.1:$port")
    backups+=("    server n$k-any 127.0.0.1:$port backup no-check")
done

# The shipped configuration with one server line per node (the backend is its last section).
grep -v '^    server n[0-9]' "$here/haproxy.cfg" >"$dir/haproxy.cfg"
printf '%s\n' "${backends[@]}" "${backups[@]}" >>"$dir/haproxy.cfg"
RINGMCP_LB_BIND="127.0.0.1:$lb_port" haproxy -db -f "$dir/haproxy.cfg" >"$dir/haproxy.log" 2>&1 &
pids+=("$!")
haproxy_pid="$!"
wait_http "$lb_port" /ready "$haproxy_pid" haproxy

echo "front: http://127.0.0.1:$lb_port/mcp  (Ctrl-C stops everything)"
# Runs until HAProxy exits or a signal arrives (wait returns at once on a trapped signal).
wait "$haproxy_pid"
