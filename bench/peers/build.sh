#!/usr/bin/env bash
# Builds the peers ringmcp is compared against (bench/peers/README.md):
#   rmcp-server/  cargo build --release  -> bench/peers/rmcp-server/target/release/rmcp-server
#   ts-server/    npm ci                 -> bench/peers/ts-server/node_modules
# Idempotent: cargo rebuilds only what changed; npm ci runs only when package-lock.json changed
# since the last successful install (or node_modules is missing).
#
#   bench/peers/build.sh [rmcp|ts|all]   (default all)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
what=${1:-all}

die() {
    echo "bench/peers/build.sh: ERROR: $*" >&2
    exit 1
}

build_rmcp() {
    command -v cargo >/dev/null || die "cargo not found on PATH (needs Rust >= 1.88 for rmcp 3.11)"
    echo "bench/peers/build.sh: rmcp-server (cargo build --release)" >&2
    (cd "$here/rmcp-server" && nice -n 5 cargo build --release --locked) ||
        die "cargo build of bench/peers/rmcp-server failed (see above); crates.io must be reachable on a first build"
    [[ -x "$here/rmcp-server/target/release/rmcp-server" ]] ||
        die "bench/peers/rmcp-server/target/release/rmcp-server missing after the build"
}

build_ts() {
    command -v node >/dev/null || die "node not found on PATH (needs Node.js >= 18)"
    command -v npm >/dev/null || die "npm not found on PATH"
    local dir="$here/ts-server" stamp="$here/ts-server/node_modules/.ringmcp-lock-sha256" sum
    [[ -f "$dir/package-lock.json" ]] || die "bench/peers/ts-server/package-lock.json missing"
    sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [[ -f "$stamp" && "$(cat "$stamp")" == "$sum" && -d "$dir/node_modules/@modelcontextprotocol/sdk" ]]; then
        echo "bench/peers/build.sh: ts-server up to date (node_modules matches package-lock.json)" >&2
    else
        echo "bench/peers/build.sh: ts-server (npm ci)" >&2
        (cd "$dir" && nice -n 5 npm ci --no-audit --no-fund --loglevel=error) ||
            die "npm ci in bench/peers/ts-server failed (see above); registry.npmjs.org must be reachable"
        echo "$sum" >"$stamp"
    fi
    (cd "$dir" && node -e 'import("@modelcontextprotocol/sdk/server/mcp.js").then(() => {}, (e) => { console.error(e); process.exit(1); })') ||
        die "ts-server: @modelcontextprotocol/sdk does not load after npm ci"
}

case "$what" in
rmcp) build_rmcp ;;
ts) build_ts ;;
all) build_rmcp && build_ts ;;
*) die "usage: bench/peers/build.sh [rmcp|ts|all]" ;;
esac
echo "bench/peers/build.sh: $what ready" >&2
