//! Legacy lifecycle over every transport: negotiation, pre-initialize refusal, ping, second
//! initialize; and how the stdio, TCP and HTTP servers end (the drain of a rolling restart included).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::http::{modern_body, modern_headers, HttpClient};
use common::*;
use ringmcp_testkit::{expect, msg};
use serde_json::json;
use std::time::{Duration, Instant};

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

/// `GET /ready` on a fresh connection.
fn ready(port: u16) -> u16 {
    let mut c = HttpClient::connect(port);
    c.send("GET", "/ready", &[], b"");
    c.read_response().status
}

/// `/ready` within a second of a signal: the main thread reads it, then every shard answers 503.
fn turns_unready(port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Instant::now() < deadline {
        if ready(port) == 503 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Signals are taken over before the server says it listens: a SIGTERM sent the moment the
/// listening line appears stops it cleanly (exit 0), it does not kill it.
#[test]
fn sigterm_right_after_the_listening_line_is_a_clean_stop() {
    for _ in 0..5 {
        let mut s = Server::http(&["--cores", "2"]);
        // SAFETY: signalling our own child.
        unsafe { libc_kill(s.child.id() as i32, 15) };
        assert_eq!(s.wait_exit(Duration::from_secs(5)), Some(0));
    }
}

/// A rolling restart: on SIGTERM with `--drain-ms` the node answers `/ready` with 503 at once and
/// serves everything else, new connections included, until the drain is over; then it stops.
#[test]
fn sigterm_with_a_drain_serves_unready_then_exits() {
    let drain = Duration::from_millis(1500);
    let mut s = Server::http(&["--cores", "2", "--drain-ms", "1500"]);
    let p = s.port.unwrap();
    assert_eq!(ready(p), 200);
    let signalled = Instant::now();
    // SAFETY: signalling our own child.
    unsafe { libc_kill(s.child.id() as i32, 15) };
    assert!(turns_unready(p), "/ready answers 503 during the drain");
    // Every shard says so (new connections land on any of them).
    assert!((0..8).all(|_| ready(p) == 503));
    let r = HttpClient::connect(p).post(
        &modern_headers("tools/call", Some("echo")),
        &modern_body(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "draining"}}),
        ),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["result"]["content"][0]["text"], "draining");
    assert!(signalled.elapsed() < drain, "all of that during the drain");
    assert_eq!(s.wait_exit(drain + Duration::from_secs(5)), Some(0));
    assert!(
        signalled.elapsed() >= drain - Duration::from_millis(100),
        "not before the drain is over ({:?})",
        signalled.elapsed()
    );
}

/// A second signal during the drain stops at once.
#[test]
fn a_second_signal_ends_the_drain() {
    let mut s = Server::http(&["--drain-ms", "60000"]);
    let p = s.port.unwrap();
    // Serving: the signals are taken by the server now (the listening line comes a moment before).
    assert_eq!(ready(p), 200);
    // SAFETY: signalling our own child.
    unsafe { libc_kill(s.child.id() as i32, 15) };
    assert!(turns_unready(p));
    let second = Instant::now();
    // SAFETY: as above.
    unsafe { libc_kill(s.child.id() as i32, 2) };
    assert_eq!(s.wait_exit(Duration::from_secs(5)), Some(0));
    assert!(second.elapsed() < Duration::from_secs(5));
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

/// Clients that never stop sending (HTTP requests pipelined back to back) do not keep a stopping
/// server alive: it closes their connections with bytes still arriving, and exits. (The hang
/// found under `ringmcp-load --rate 80000` on 64 legacy-session connections, a connection whose
/// last recv completion carried bytes left in the slab for good, did not reproduce with this
/// client; `bench/run.sh` stops servers with SIGTERM after such runs and reports one that stays.)
#[test]
fn sigterm_stops_the_server_while_clients_keep_sending() {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    // One buffer per recv: every recv ends with a completion that carries bytes.
    let mut s = Server::http(&[
        "--cores",
        "1",
        "--shutdown-grace-ms",
        "300",
        "--recv-cap-bytes",
        "4096",
    ]);
    let port = s.port.expect("port");
    let stop = Arc::new(AtomicBool::new(false));
    let request = HttpClient::connect(port).request_bytes(
        "POST",
        "/mcp",
        &modern_headers("tools/call", Some("echo")),
        &modern_body(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "go"}}),
        ),
    );
    let burst: Vec<u8> = request.repeat(32);
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (stop, burst) = (stop.clone(), burst.clone());
            let mut w = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
            let mut r = w.try_clone().expect("clone");
            std::thread::spawn(move || {
                let mut sink = vec![0u8; 64 * 1024];
                std::thread::spawn(move || while matches!(r.read(&mut sink), Ok(n) if n > 0) {});
                while !stop.load(Ordering::Relaxed) && w.write_all(&burst).is_ok() {}
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: signalling our own child.
    unsafe { libc_kill(s.child.id() as i32, 15) };
    let exit = s.wait_exit(Duration::from_secs(10));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.join();
    }
    assert_eq!(
        exit,
        Some(0),
        "the server exits while its clients still send"
    );
}
