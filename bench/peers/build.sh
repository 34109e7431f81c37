#!/usr/bin/env bash
# Builds the peers ringmcp is compared against (bench/peers/README.md), which the client's tests
# (client/tests/peers.rs) also call:
#   rmcp-server/  cargo build --release  -> bench/peers/rmcp-server/target/release/rmcp-server
#                 (rmcp-debug: cargo build -> bench/peers/rmcp-server/target/debug/rmcp-server)
#   ts-server/    npm ci                 -> bench/peers/ts-server/node_modules   (SDK 1.x)
#   ts2-server/   npm ci                 -> bench/peers/ts2-server/node_modules  (SDK 2.x)
# Idempotent: cargo rebuilds only what changed; npm ci runs only when package-lock.json changed
# since the last successful install (or node_modules is missing).
#
#   bench/peers/build.sh [rmcp|rmcp-debug|ts|ts2|all]   (default all: rmcp, ts and ts2)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
what=${1:-all}

die() {
    echo "bench/peers/build.sh: ERROR: $*" >&2
    exit 1
}

# $1: the cargo profile, release (the benchmarks) or dev (tests: no fat LTO, a quicker build).
build_rmcp() {
    local profile=$1 dir=release
    [[ $profile == dev ]] && dir=debug
    command -v cargo >/dev/null || die "cargo not found on PATH (needs Rust >= 1.88 for rmcp 3.11)"
    echo "bench/peers/build.sh: rmcp-server (cargo build --profile $profile)" >&2
    (cd "$here/rmcp-server" && nice -n 5 cargo build --profile "$profile" --locked) ||
        die "cargo build of bench/peers/rmcp-server failed (see above); crates.io must be reachable on a first build"
    [[ -x "$here/rmcp-server/target/$dir/rmcp-server" ]] ||
        die "bench/peers/rmcp-server/target/$dir/rmcp-server missing after the build"
}

# $1: the peer's directory; $2: a module of its SDK that must load after the install.
build_ts() {
    local name=$1 module=$2
    command -v node >/dev/null || die "node not found on PATH (needs Node.js >= 20; ts-server alone runs on 18)"
    command -v npm >/dev/null || die "npm not found on PATH"
    local dir="$here/$name" stamp="$here/$name/node_modules/.ringmcp-lock-sha256" sum
    [[ -f "$dir/package-lock.json" ]] || die "bench/peers/$name/package-lock.json missing"
    sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" && -d "$dir/node_modules/@modelcontextprotocol" ]]; then
        echo "bench/peers/build.sh: $name up to date (node_modules matches package-lock.json)" >&2
    else
        echo "bench/peers/build.sh: $name (npm ci)" >&2
        (cd "$dir" && nice -n 5 npm ci --no-audit --no-fund --loglevel=error) ||
            die "npm ci in bench/peers/$name failed (see above); registry.npmjs.org must be reachable"
        echo "$sum" >"$stamp"
    fi
    (cd "$dir" && node -e "import('$module').then(() => {}, (e) => { console.error(e); process.exit(1); })") ||
        die "$name: $module does not load after npm ci"
}

case "$what" in
rmcp) build_rmcp release ;;
rmcp-debug) build_rmcp dev ;;
ts) build_ts ts-server @modelcontextprotocol/sdk/server/mcp.js ;;
ts2) build_ts ts2-server @modelcontextprotocol/server ;;
all) build_rmcp release && build_ts ts-server @modelcontextprotocol/sdk/server/mcp.js &&
    build_ts ts2-server @modelcontextprotocol/server ;;
*) die "usage: bench/peers/build.sh [rmcp|rmcp-debug|ts|ts2|all]" ;;
esac
echo "bench/peers/build.sh: $what ready" >&2
