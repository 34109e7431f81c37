# Helpers the bench scripts share; sourced (`. bench/lib.sh` from the repository root).

# stop_pid WHO PID: SIGTERM, then SIGKILL if it is still there after 5 s. A server that does
# not stop must neither hang the run nor take part in the next one (the next server binds the
# same ports with SO_REUSEPORT). WHO names the script in the message.
stop_pid() {
    local who=$1 pid=$2 i
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "$who: server $pid still running 5 s after SIGTERM; SIGKILL" >&2
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
