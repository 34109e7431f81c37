//! Legacy lifecycle over every transport: negotiation, pre-initialize refusal, ping, second
//! initialize; and how the stdio and TCP servers end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use ringmcp_testkit::{expect, msg};
use serde_json::json;
use std::time::Duration;

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

for_each_transport!(negotiation);

fn before_initialize(via: Via) {
    let (_s, mut c) = open(via, &[]);
    assert_eq!(
        c.result(msg::request(1, "ping")),
        json!({}),
        "ping is answered before initialize"
    );
    c.error(msg::request(2, "tools/list"), -32600);
    c.error(
        msg::call("three", "echo").args(json!({"text": "x"})),
        -32600,
    );
    c.initialize("2025-06-18");
    assert!(c.result(msg::request(4, "tools/list"))["tools"].is_array());
    // A second initialize is refused.
    c.error(msg::initialize(5, "2025-06-18"), -32600);
    assert_eq!(c.result(msg::request(6, "ping")), json!({}));
}

// Over HTTP there is no session before `initialize`: a request without one is refused (400) or
// read as a 2026-07-28 request, so the pre-initialize part of the lifecycle is stdio's and TCP's.
for_each_transport!(before_initialize: stdio => Stdio, tcp => Tcp);

#[test]
fn stdio_exits_zero_on_eof_after_answering() {
    let (mut s, mut c) = Server::stdio(&[]);
    c.initialize("2025-11-25");
    c.send(msg::call(1, "sleep").args(json!({"ms": 100})));
    // Close stdin: the request in flight is still answered, then the process exits 0.
    c.close_write();
    assert_eq!(
        expect::text(&expect::result(&c.response(1), 1)),
        "slept 100 ms"
    );
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

/// A second server on an address a running one holds would have the kernel split new connections
/// between two processes that know nothing of each other's sessions: it refuses, with exit status
/// 2 and the address named, unless sharing is asked for.
#[test]
fn a_second_server_on_a_held_address_refuses_unless_told_to_share() {
    for (flag, marker) in [
        ("--tcp", "tcp://127.0.0.1:"),
        ("--http", "http://127.0.0.1:"),
    ] {
        let first = Server::listening(&["serve", flag, "127.0.0.1:0"], &[], marker);
        let addr = format!("127.0.0.1:{}", first.port.unwrap());
        let mut second = std::process::Command::new(bin())
            .args(["serve", flag, &addr])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = lines_of(second.stderr.take().unwrap());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = second.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = second.kill();
                panic!("{flag}: a second server on {addr} started instead of refusing");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(2), "{flag}");
        // The process ended, so its stderr ends: read all of it.
        let said: Vec<String> = stderr.iter().collect();
        assert!(
            said.iter()
                .any(|l| l.contains("address in use") && l.contains(&addr)),
            "{flag}: {said:?}"
        );
        // Asked to share, it serves on the same address.
        let shared = Server::listening(&["serve", flag, &addr, "--share-port"], &[], marker);
        assert_eq!(shared.port, first.port);
    }
}
