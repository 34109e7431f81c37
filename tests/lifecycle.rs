//! Legacy lifecycle over stdio and TCP: negotiation, pre-initialize refusal, ping, second initialize.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use serde_json::{json, Value};

fn negotiation(via: Via) {
    for version in LEGACY {
        let (_s, mut c) = open(via, &[]);
        let r = c.initialize(version);
        assert_eq!(r["protocolVersion"], version);
        assert_eq!(r["serverInfo"]["name"], "ringmcp-demo");
        // Capabilities reflect the demo registry.
        for cap in ["tools", "resources", "prompts", "logging"] {
            assert!(
                r["capabilities"].get(cap).is_some(),
                "{version}: missing {cap} in {r}"
            );
        }
        assert_eq!(r["capabilities"]["resources"]["subscribe"], true);
        assert_eq!(
            r["capabilities"].get("completions").is_some(),
            version != "2024-11-05",
            "{r}"
        );
    }
    let (_s, mut c) = open(via, &[]);
    let r = c.initialize("1999-01-01");
    assert_eq!(
        r["protocolVersion"], "2025-11-25",
        "unknown version answers with the newest legacy one"
    );
}

#[test]
fn negotiation_stdio() {
    negotiation(Via::Stdio)
}

#[test]
fn negotiation_tcp() {
    negotiation(Via::Tcp)
}

fn before_initialize(via: Via) {
    let (_s, mut c) = open(via, &[]);
    assert_eq!(
        c.call(1, "ping", Value::Null),
        json!({}),
        "ping is answered before initialize"
    );
    let e = c.call_err(2, "tools/list", Value::Null);
    assert_eq!(code(&e), -32600, "{e}");
    let e = c.call_err(
        "three",
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "x"}}),
    );
    assert_eq!(code(&e), -32600);
    c.initialize("2025-06-18");
    assert!(c.call(4, "tools/list", Value::Null)["tools"].is_array());
    let e = c.call_err(5, "initialize", json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}));
    assert_eq!(code(&e), -32600, "second initialize is refused: {e}");
    assert_eq!(c.call(6, "ping", Value::Null), json!({}));
}

#[test]
fn before_initialize_stdio() {
    before_initialize(Via::Stdio)
}

#[test]
fn before_initialize_tcp() {
    before_initialize(Via::Tcp)
}

#[test]
fn stdio_exits_zero_on_eof_after_answering() {
    let (mut s, mut c) = Server::stdio(&[]);
    c.initialize("2025-11-25");
    c.request(
        1,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 100}}),
    );
    // Close stdin: the request in flight is still answered, then the process exits 0.
    c.close_write();
    assert_eq!(text_of(&c.response(1)["result"]), "slept 100 ms");
    let code = s.wait_exit(std::time::Duration::from_secs(10));
    assert_eq!(code, Some(0));
}

#[test]
fn sigterm_exits_zero() {
    let mut s = Server::tcp(&[]);
    let mut c = s.connect();
    c.initialize("2025-11-25");
    // SAFETY: signalling our own child.
    unsafe { libc_kill(s.child.id() as i32, 15) };
    assert_eq!(s.wait_exit(std::time::Duration::from_secs(10)), Some(0));
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
