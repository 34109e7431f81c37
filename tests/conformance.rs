//! Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, pinned, on a
//! pinned Node 22 that `tests/conformance/run.sh` installs with `npm ci`) against the binary
//! serving `--fixtures conformance`, for the 2025-11-25 and 2026-07-28 requirement sets and the
//! whole suite (`--suite all`). Fails on any failing scenario, and any skipped or warned check,
//! not listed, with its reason, in `tests/conformance/expected-failures.txt`.

use std::process::Command;

#[test]
fn official_conformance_suite() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/run.sh");
    let status = Command::new("bash")
        .arg(script)
        .env("RINGMCP_BIN", env!("CARGO_BIN_EXE_ringmcp"))
        .env(
            "CONFORMANCE_RESULTS_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/conformance"),
        )
        .status()
        .unwrap_or_else(|e| panic!("could not run {script}: {e}"));
    assert!(
        status.success(),
        "the conformance suite failed ({status}); see its output above"
    );
}
