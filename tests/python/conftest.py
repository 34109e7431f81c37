"""Shared fixtures for the Python-side ringmcp tests (see run.sh)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def ringmcp_bin() -> str:
    """Path of the server binary under test: $RINGMCP_BIN, else target/debug/ringmcp."""
    path = os.environ.get("RINGMCP_BIN") or str(REPO / "target" / "debug" / "ringmcp")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.exit(f"ringmcp binary not found or not executable: {path} (set RINGMCP_BIN)", returncode=4)
    return path


@pytest.fixture(scope="session")
def server_bin() -> str:
    return ringmcp_bin()
