//! Drives the server end to end with official Node.js clients: the MCP TypeScript SDK 1.x
//! (`Client` + `StreamableHTTPClientTransport`, 2025-11-25 sessions: tools, structured output,
//! resources, a subscription notified across shards, prompts, progress, logging, elicitation,
//! roots, a panicking handler, session teardown) and the MCP Inspector CLI (legacy sessions and
//! stateless 2026-07-28). `tests/node/run.sh` installs them, with a pinned Node 22, by `npm ci`
//! from `tests/node/package-lock.json`; if that fails (no npm, no registry) this test fails with
//! npm's message.

use std::process::Command;

#[test]
fn official_node_clients() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/node/run.sh");
    let status = Command::new("bash")
        .arg(script)
        .env("RINGMCP_BIN", env!("CARGO_BIN_EXE_ringmcp"))
        .env(
            "NODE_CLIENTS_RESULTS_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/node-clients"),
        )
        .status()
        .unwrap_or_else(|e| panic!("could not run {script}: {e}"));
    assert!(
        status.success(),
        "the Node.js client suite failed ({status}); see its output above"
    );
}
