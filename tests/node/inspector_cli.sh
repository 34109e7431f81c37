#!/usr/bin/env bash
# Drives a running ringmcp server (demo set) with the MCP Inspector's CLI mode
# (`mcp-inspector --cli`, @modelcontextprotocol/inspector pinned in package.json),
# once per protocol era: legacy (2025-11-25 sessions) and modern (stateless 2026-07-28).
#
#   tests/node/inspector_cli.sh http://127.0.0.1:PORT/mcp
#
# Expects `npm ci` to have run in tests/node (run.sh does that). Each invocation is
# bounded by a timeout; any failure prints the command, what was expected and what the
# Inspector printed, and exits 1.
#
# Environment:
#   NODE   the Node binary to run the Inspector with (default: tests/node/node_modules/.bin/node,
#          the pinned Node 22; the Inspector needs Node >= 22.19)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
url="${1:?usage: inspector_cli.sh <server url, e.g. http://127.0.0.1:PORT/mcp>}"
node="${NODE:-$here/node_modules/.bin/node}"
launcher="$here/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js"
per_call_timeout=30

die() {
  echo "inspector_cli: FAIL: $*" >&2
  exit 1
}

[[ -x "$node" ]] || die "node not found at $node (run 'npm ci' in $here, or tests/node/run.sh)"
[[ -f "$launcher" ]] || die "Inspector not installed: $launcher is missing (run 'npm ci' in $here)"

# The Inspector keeps a catalog, client config and (on hosts without a keychain) a secrets
# file under ~/.mcp-inspector; give it a throwaway home so the test neither reads nor
# writes the user's.
scratch="$(mktemp -d "${TMPDIR:-/tmp}/ringmcp-inspector.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
export HOME="$scratch"
export MCP_CATALOG_PATH="$scratch/mcp.json"
export MCP_CLIENT_CONFIG_PATH="$scratch/client.json"

out="$scratch/out.json"
err="$scratch/err.txt"
passed=0

# inspect <label> <inspector args...>: runs the Inspector CLI, JSON result in $out.
inspect() {
  local label="$1"
  shift
  local rc=0
  timeout --kill-after=5 "$per_call_timeout" \
    "$node" "$launcher" --cli "$url" --transport http --connect-timeout 10000 \
    --format json --quiet "$@" >"$out" 2>"$err" </dev/null || rc=$?
  if [[ "$rc" == 124 || "$rc" == 137 ]]; then
    die "$label: the Inspector did not finish within ${per_call_timeout}s
  command: mcp-inspector --cli $url --transport http $*
  stdout: $(cat "$out")
  stderr: $(cat "$err")"
  fi
  if [[ "$rc" != 0 ]]; then
    die "$label: the Inspector exited with status $rc
  command: mcp-inspector --cli $url --transport http $*
  stdout: $(cat "$out")
  stderr: $(cat "$err")"
  fi
}

# expect <label> <JS boolean expression over `r` (the parsed stdout)> <what it means>
expect() {
  local label="$1" expr="$2" meaning="$3"
  if ! "$node" -e '
    const fs = require("fs");
    const [file, expr] = process.argv.slice(1);
    let r;
    try { r = JSON.parse(fs.readFileSync(file, "utf8")); }
    catch (e) { console.error("stdout is not one JSON document: " + e.message); process.exit(1); }
    process.exit(new Function("r", "return (" + expr + ");")(r) ? 0 : 1);
  ' "$out" "$expr"; then
    die "$label: expected $meaning
  check: $expr
  the Inspector printed: $(cat "$out")
  stderr: $(cat "$err")"
  fi
  passed=$((passed + 1))
  echo "inspector_cli: ok   $label"
}

for era in legacy modern; do
  inspect "[$era] tools/list" --protocol-era "$era" --method tools/list
  expect "[$era] tools/list" \
    'r.result.tools.some(t => t.name === "echo") && r.result.tools.some(t => t.name === "add" && t.outputSchema)' \
    "tools/list to list echo, and add with an outputSchema"

  inspect "[$era] tools/call echo" --protocol-era "$era" --method tools/call --tool-name echo --tool-arg text=hi
  expect "[$era] tools/call echo text=hi" \
    'r.result.isError !== true && r.result.content.length === 1 && r.result.content[0].type === "text" && r.result.content[0].text === "hi"' \
    'one text block "hi"'

  if [[ "$era" == modern ]]; then
    # Only stateless (2026-07-28) results carry the server's identity in _meta; this tells
    # us the Inspector really spoke the modern era rather than falling back to a session.
    expect "[$era] result _meta names the server (stateless era)" \
      'r.result._meta && r.result._meta["io.modelcontextprotocol/serverInfo"] && r.result._meta["io.modelcontextprotocol/serverInfo"].name === "ringmcp-demo"' \
      '_meta["io.modelcontextprotocol/serverInfo"].name == "ringmcp-demo" in a 2026-07-28 result'
  fi

  inspect "[$era] tools/call add" --protocol-era "$era" --method tools/call --tool-name add --tool-args-json '{"a":2,"b":3}'
  expect "[$era] tools/call add a=2 b=3" 'r.result.structuredContent && r.result.structuredContent.sum === 5' \
    "structuredContent {sum: 5}"

  inspect "[$era] resources/read" --protocol-era "$era" --method resources/read --uri demo://readme
  expect "[$era] resources/read demo://readme" \
    'r.result.contents[0].uri === "demo://readme" && /ringmcp demo/.test(r.result.contents[0].text)' \
    "the readme's text"

  inspect "[$era] prompts/get" --protocol-era "$era" --method prompts/get --prompt-name greet --prompt-args name=Bob
  expect "[$era] prompts/get greet name=Bob" 'r.result.messages[0].content.text === "Hello, Bob!"' '"Hello, Bob!"'
done

echo "inspector_cli: all $passed checks passed"
