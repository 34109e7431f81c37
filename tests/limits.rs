//! Resource limits: fd exhaustion (EMFILE), the per-shard connection cap and an overflowing
//! completion queue leave existing connections working and recover.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use ringmcp_testkit::{expect, msg};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn echo(c: &mut Client, id: i64) {
    let r = c.result(msg::call(id, "echo").args(json!({"text": "alive"})));
    assert_eq!(expect::text(&r), "alive");
}

/// The peer closed on us (or never answered) within `within`.
fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).ok();
    let mut buf = [0u8; 64];
    matches!(stream.read(&mut buf), Ok(0) | Err(_))
}

#[test]
fn survives_fd_exhaustion() {
    // Start under a low open-file limit; the shell applies it to the server only.
    let mut child = Command::new("bash")
        .args([
            "-c",
            &format!(
                "ulimit -n 96 && exec {} serve --tcp 127.0.0.1:0 --cores 1",
                bin()
            ),
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let port: u16 = loop {
        let line = rx.recv_timeout(TIMEOUT).expect("server start");
        if let Some(rest) = line.split("tcp://127.0.0.1:").nth(1) {
            break rest
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap();
        }
    };
    let server = Server {
        child,
        port: Some(port),
        stderr: rx,
    };
    let mut first = server.connect();
    first.initialize("2025-11-25");
    // Far more connections than fds: the kernel completes the handshakes, the server cannot accept.
    let flood: Vec<TcpStream> = (0..150)
        .filter_map(|_| TcpStream::connect(("127.0.0.1", port)).ok())
        .collect();
    // The server says why it stopped accepting.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let line = server
            .stderr
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("no EMFILE warning logged");
        if line.contains("backing off") {
            break;
        }
    }
    // The existing session keeps working while accept fails.
    echo(&mut first, 1);
    drop(flood);
    // Once fds are free again, new connections are served.
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let mut c = server.connect();
        c.send(msg::initialize(0, "2025-11-25"));
        if c.next(Duration::from_millis(500)).is_some() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server did not recover from fd exhaustion"
        );
    }
    echo(&mut first, 2);
}

#[test]
fn connection_cap_per_shard() {
    let server = Server::tcp(&["--cores", "1", "--max-connections", "3"]);
    let mut held: Vec<Client> = (0..3).map(|_| server.connect()).collect();
    for (i, c) in held.iter_mut().enumerate() {
        c.initialize("2025-11-25");
        echo(c, i as i64);
    }
    let mut extra = TcpStream::connect(("127.0.0.1", server.port.unwrap())).unwrap();
    assert!(
        closed_by_server(&mut extra, Duration::from_secs(5)),
        "a fourth connection is refused"
    );
    for (i, c) in held.iter_mut().enumerate() {
        echo(c, 10 + i as i64);
    }
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(200));
    let mut again = server.connect();
    again.initialize("2025-11-25");
    echo(&mut again, 20);
}

#[test]
fn rate_limit_per_connection() {
    let server = Server::tcp(&[
        "--cores",
        "1",
        "--rate-limit-rps",
        "5",
        "--rate-limit-burst",
        "5",
    ]);
    let mut c = server.connect();
    c.initialize("2025-11-25");
    let mut limited = 0;
    for i in 0..20 {
        c.send(msg::request(100 + i, "ping"));
    }
    for i in 0..20 {
        let r = c.response(100 + i);
        if let Some(e) = r.get("error") {
            assert_eq!(e["code"], -32000, "{r}");
            assert!(e["data"]["retryAfterMs"].as_u64().unwrap() > 0);
            limited += 1;
        }
    }
    assert!(
        (14..=16).contains(&limited),
        "burst of 5 (one used by initialize), then limited: {limited}"
    );
    // Another client is not affected.
    let mut other = server.connect();
    other.initialize("2025-11-25");
    echo(&mut other, 1);
    // The limited client recovers once tokens refill.
    std::thread::sleep(Duration::from_millis(500));
    echo(&mut c, 2);
}

/// A raw connection subscribed to `demo://counter` that never reads its notifications.
fn silent_subscriber(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    let setup = [
        msg::initialize(1, "2025-11-25").line(),
        msg::initialized().line(),
        msg::request(2, "resources/subscribe")
            .param("uri", "demo://counter")
            .line(),
    ];
    s.write_all(&setup.concat()).unwrap();
    // Both answers (initialize, subscribe) before going silent.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while seen.iter().filter(|&&b| b == b'\n').count() < 2 {
        let n = s.read(&mut buf).expect("subscriber set-up answered");
        assert!(n > 0, "server closed a subscriber during set-up");
        seen.extend_from_slice(&buf[..n]);
    }
    s
}

#[test]
fn keeps_accepting_when_a_fan_out_overflows_the_completion_queue() {
    // A completion queue far smaller than one update's fan-out: every bump overflows it, and the
    // kernel then ends multishot accepts and receives. The shard must re-arm them: new
    // connections keep being served, and so do the old ones.
    let server = Server::tcp(&["--cores", "1", "--ring-entries", "8", "--cq-entries", "8"]);
    let port = server.port.unwrap();
    let _subscribers: Vec<TcpStream> = (0..128).map(|_| silent_subscriber(port)).collect();
    let mut control = server.connect();
    control.initialize("2025-11-25");
    for round in 0..40 {
        control.send(msg::call(100 + round, "bump").args(json!({})));
        let mut fresh = server.connect();
        fresh.initialize("2025-11-25");
        echo(&mut fresh, round);
        let r = control.response(100 + round);
        assert!(r.get("result").is_some(), "bump failed: {r}");
    }
    echo(&mut control, 1000);
}
