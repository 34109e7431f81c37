#!/usr/bin/env bash
# The command the conformance suite runs for each client scenario (see run_client.sh):
#   client_wrap.sh RC_DIR CLIENT_BIN conformance URL
# Runs the client under its own time limit and records its exit status in
# RC_DIR/<scenario with / as _>.rc, because the suite's --suite mode keeps no
# exit codes and a crash or a timeout must fail the scenario.
rc_dir="$1"
shift
limit="${CONFORMANCE_CLIENT_LIMIT_SECS:-25}"
rc=0
timeout --kill-after=5 "$limit" "$@" || rc=$?
name="${MCP_CONFORMANCE_SCENARIO:-unknown}"
mkdir -p "$rc_dir"
echo "$rc" >"$rc_dir/${name//\//_}.rc"
exit "$rc"
