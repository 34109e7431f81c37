# Sourced by the test runners (tests/conformance/run.sh, tests/node/run.sh): starts "$bin" with
# "${server_args[@]}" (stdout and stderr under "$results"), waits for its
# "ringmcp: listening on http://.../mcp" line, and stops it by PID when the script exits.
# Needs: bin, server_args, results, and a die() function. Sets: server_pid, url, port.

start_ringmcp() {
  server_out="$results/server.stdout"
  server_err="$results/server.stderr"
  "$bin" "${server_args[@]}" >"$server_out" 2>"$server_err" &
  server_pid=$!
  trap stop_ringmcp EXIT
  url=""
  for _ in $(seq 1 200); do
    url="$(sed -n 's#^ringmcp: listening on \(http://[^ ]*/mcp\).*#\1#p' "$server_err" | head -n1)"
    [[ -n "$url" ]] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
      cat "$server_err" >&2
      die "server exited before listening: $bin ${server_args[*]}"
    fi
    sleep 0.1
  done
  if [[ -z "$url" ]]; then
    cat "$server_err" >&2
    die "server did not print 'ringmcp: listening on ...' within 20s"
  fi
  port="${url##*:}"
  port="${port%%/*}"
  [[ "$port" =~ ^[0-9]+$ && "$port" != 0 ]] || die "could not parse a port from '$url'"
}

stop_ringmcp() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
}
