//! Back-pressure at scale: a thousand TCP clients that each ask for far more answers than the
//! server may queue, and read none of them for a while. The server stops reading a connection
//! once its unsent answers pass `--pause-unsent-bytes`, so its memory stays bounded per
//! connection while the clients' writes wait on TCP flow control; once they read, every client
//! gets every answer and none is dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use ringmcp_testkit::msg;
use serde_json::json;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const CLIENTS: usize = 1000;
/// Requests each client sends before it reads, and the text each one echoes.
const REQUESTS: usize = 50;
const TEXT: usize = 4000;
/// `--pause-unsent-bytes` of the server under test.
const PAUSE: usize = 16 * 1024;

/// One client: its socket, how much of the shared request bytes it has written, and how many
/// answers it has read (counted by newline).
struct Peer {
    s: TcpStream,
    written: usize,
    answers: usize,
}

impl Peer {
    /// Write what the socket takes now; true if anything was written.
    fn write_some(&mut self, bytes: &[u8]) -> bool {
        let mut any = false;
        while self.written < bytes.len() {
            match self.s.write(&bytes[self.written..]) {
                Ok(0) => panic!("the server closed a client's connection"),
                Ok(n) => {
                    self.written += n;
                    any = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("write failed (connection dropped?): {e}"),
            }
        }
        any
    }

    /// Read what has arrived; true if anything was read.
    fn read_some(&mut self, buf: &mut [u8]) -> bool {
        let mut any = false;
        loop {
            match self.s.read(buf) {
                Ok(0) => panic!(
                    "the server closed a client after {} of {REQUESTS} answers",
                    self.answers
                ),
                Ok(n) => {
                    any = true;
                    self.answers += buf[..n].iter().filter(|&&b| b == b'\n').count();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return any,
                Err(e) => panic!("read failed (connection dropped?): {e}"),
            }
        }
    }
}

#[test]
fn a_thousand_clients_that_read_late_cost_bounded_memory_and_lose_nothing() {
    let pause = PAUSE.to_string();
    // A small socket send buffer keeps the answers out of kernel memory (where loopback's
    // autotuning would hide megabytes per connection), so they back up in the server.
    let server = Server::tcp(&[
        "--cores",
        "1",
        "--pause-unsent-bytes",
        &pause,
        "--socket-send-buffer",
        "16384",
    ]);
    let port = server.port.expect("port");

    let mut peers: Vec<Peer> = (0..CLIENTS)
        .map(|_| {
            let mut s = small_rcvbuf_connect(port);
            s.set_read_timeout(Some(Duration::from_secs(10))).ok();
            let mut hello = msg::initialize(0, "2025-11-25").line();
            hello.extend(msg::initialized().line());
            s.write_all(&hello).expect("initialize");
            let mut got = [0u8; 4096];
            let n = s.read(&mut got).expect("initialize answer");
            assert!(got[..n].ends_with(b"\n"), "one whole answer to initialize");
            s.set_nonblocking(true).expect("nonblocking");
            Peer {
                s,
                written: 0,
                answers: 0,
            }
        })
        .collect();
    let text = "b".repeat(TEXT);
    let requests: Vec<u8> = (0..REQUESTS)
        .flat_map(|i| {
            msg::call(i as i64, "echo")
                .args(json!({"text": text}))
                .line()
        })
        .collect();
    let before = server.rss_kib();

    // Every client writes without reading until flow control stops all of them.
    let began = Instant::now();
    let mut quiet_since = Instant::now();
    while quiet_since.elapsed() < Duration::from_millis(1500) {
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "the writes never settled"
        );
        if peers.iter_mut().any(|p| p.write_some(&requests)) {
            quiet_since = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The requests now wait in kernel buffers (loopback's are large), where the server takes
    // them as its answers drain: its memory must settle, not grow towards the 200 MB asked for.
    let mut rss = server.rss_kib();
    let settled = loop {
        std::thread::sleep(Duration::from_millis(1000));
        let now = server.rss_kib();
        if now <= rss + rss / 100 {
            break now;
        }
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "server memory kept growing while nobody read: {before} -> {now} KiB"
        );
        rss = now;
    };
    let per_client = settled.saturating_sub(before) * 1024 / CLIENTS as u64;
    eprintln!(
        "server RSS {before} -> {settled} KiB: {per_client} B per client that asked for {} B of \
         answers and read none",
        REQUESTS * TEXT
    );
    // Unsent answers up to the pause mark, what arrived before the pause took effect (at most
    // one capped recv, --recv-cap-bytes: 16 KiB), and the slack of the buffers that hold them.
    assert!(
        per_client < 128 * 1024,
        "{per_client} B of server memory per client that does not read"
    );

    // Now they read: every client gets all its answers.
    let mut buf = vec![0u8; 64 * 1024];
    let began = Instant::now();
    while peers.iter().any(|p| p.answers < REQUESTS) {
        assert!(
            began.elapsed() < Duration::from_secs(120),
            "answers stopped: {} of {} arrived",
            peers.iter().map(|p| p.answers).sum::<usize>(),
            CLIENTS * REQUESTS
        );
        let mut any = false;
        for p in &mut peers {
            any |= p.write_some(&requests);
            any |= p.read_some(&mut buf);
        }
        if !any {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    for p in &peers {
        assert_eq!(p.answers, REQUESTS);
        assert_eq!(p.written, requests.len());
    }
    let mut c = server.connect();
    c.initialize("2025-11-25");
    let r = c.result(msg::call(1, "echo").args(json!({"text": "after"})));
    assert_eq!(r["content"][0]["text"], "after", "the server serves on");
}
