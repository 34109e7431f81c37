#!/usr/bin/env bash
# Runs the Python SDK conformance tests against the ringmcp binary.
#
#   tests/python/run.sh [extra pytest args...]
#   tests/python/run.sh --script FILE [args...]   (a program of tests/python instead of pytest,
#                                                  e.g. cluster_flows.py for tests/cluster_sdk.rs)
#
# Creates (or refreshes, when requirements.txt changed) a virtual environment
# at $REPO/.venv, then runs pytest on tests/python with RINGMCP_BIN exported
# (default: $REPO/target/debug/ringmcp). Needs only python3 (>= 3.10) + pip.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../.." && pwd)"
VENV="${RINGMCP_PY_VENV:-$REPO/.venv}"
REQS="$SCRIPT_DIR/requirements.txt"
STAMP="$VENV/.ringmcp-requirements.sha256"
PYTHON="${PYTHON:-python3}"

die() { echo "run.sh: error: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install Python 3.10+ (with venv and pip)"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
    || die "Python >= 3.10 required, found $("$PYTHON" -V 2>&1)"

want_hash="$("$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest())' "$REQS")"
have_hash="$(cat "$STAMP" 2>/dev/null || true)"

# (Re)create the venv when it is missing, broken, or built by another Python version.
if [[ ! -x "$VENV/bin/python" ]] || [[ "$("$VENV/bin/python" -V 2>&1 || true)" != "$("$PYTHON" -V 2>&1)" ]]; then
    echo "run.sh: creating virtual environment at $VENV" >&2
    rm -rf "$VENV"
    if ! "$PYTHON" -m venv "$VENV"; then
        # Some distributions ship python3 without ensurepip (Debian's python3-venv):
        # make a pip-less venv and install pip into it with the system pip instead.
        echo "run.sh: 'python3 -m venv' failed; retrying without ensurepip" >&2
        rm -rf "$VENV"
        "$PYTHON" -m venv --without-pip "$VENV" \
            || die "could not create a venv at $VENV (on Debian/Ubuntu: apt-get install python3-venv)"
        "$PYTHON" -m pip --python "$VENV/bin/python" install --disable-pip-version-check -q pip \
            || die "could not install pip into $VENV (need ensurepip, or pip >= 22.3 for python3)"
    fi
    have_hash=""
fi

# Install the pinned requirements when they changed since the last successful install.
if [[ "$want_hash" != "$have_hash" ]]; then
    echo "run.sh: installing $REQS into $VENV" >&2
    rm -f "$STAMP"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQS" \
        || die "pip install -r $REQS failed; the tests cannot run without their requirements"
    echo "$want_hash" > "$STAMP"
fi

if [[ "${1-}" == "--script" ]]; then
    shift
    [[ $# -ge 1 ]] || die "--script needs a file"
    exec "$VENV/bin/python" "$@"
fi

RINGMCP_BIN="${RINGMCP_BIN:-$REPO/target/debug/ringmcp}"
case "$RINGMCP_BIN" in /*) ;; *) RINGMCP_BIN="$PWD/$RINGMCP_BIN" ;; esac
export RINGMCP_BIN
[[ -x "$RINGMCP_BIN" ]] \
    || die "server binary not found or not executable: $RINGMCP_BIN (build it with 'cargo build' or set RINGMCP_BIN)"

cd "$REPO"
exec "$VENV/bin/python" -m pytest -q tests/python "$@"
