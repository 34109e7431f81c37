//! Runs the official MCP conformance suite's client scenarios (`@modelcontextprotocol/conformance`,
//! pinned, on the pinned Node 22 that `tests/conformance/run_client.sh` installs with `npm ci`)
//! against `ringmcp-client conformance`, at each scenario's default revision and at 2026-07-28.
//! Fails on any scenario that fails, crashes or times out, on a passing scenario without a
//! successful check, and on any skipped or warned check, not listed with its reason in
//! `tests/conformance/expected-client-failures.txt`; and on listed entries that no longer fail.

use std::process::Command;

#[test]
fn official_conformance_client_scenarios() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/conformance/run_client.sh"
    );
    let status = Command::new("bash")
        .arg(script)
        .env("RINGMCP_CLIENT_BIN", env!("CARGO_BIN_EXE_ringmcp-client"))
        .env(
            "CONFORMANCE_RESULTS_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/conformance-client"),
        )
        .env("CONFORMANCE_STRICT_BASELINE", "1")
        .status()
        .unwrap_or_else(|e| panic!("could not run {script}: {e}"));
    assert!(
        status.success(),
        "the client conformance scenarios failed ({status}); see the output above"
    );
}
