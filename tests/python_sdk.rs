//! Drives the server with the official Python SDK (`mcp` 2.x) and validates its output with the
//! SDK's own wire types (`mcp-types`). `tests/python/run.sh` installs them into `.venv` first; if
//! that fails (no python3, no network to PyPI) this test fails with pip's message.

use std::process::Command;

#[test]
fn official_python_sdk() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/python/run.sh");
    let status = Command::new("bash")
        .arg(script)
        .env("RINGMCP_BIN", env!("CARGO_BIN_EXE_ringmcp"))
        .status()
        .unwrap_or_else(|e| panic!("could not run {script}: {e}"));
    assert!(
        status.success(),
        "the Python SDK suite failed ({status}); see its output above"
    );
}
