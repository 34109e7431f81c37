//! Faults under load: handler panics mixed into a busy server, and `kill -9` in the middle of
//! traffic followed by a restart on the same ports. Every phase is bounded in time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::http::{modern_body, modern_headers};
use common::{rss_kib, Server, TIMEOUT};
use ringmcp_testkit::msg;
use serde_json::{json, Value};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes read from a socket, split into complete lines, every read bounded.
struct LineReader {
    s: TcpStream,
    buf: Vec<u8>,
}

#[derive(Debug)]
enum Read1 {
    Line(Vec<u8>),
    /// EOF or a connection error (reset, broken pipe).
    Closed(String),
    Timeout,
}

impl LineReader {
    fn new(s: TcpStream) -> Self {
        LineReader { s, buf: Vec::new() }
    }

    fn next(&mut self, within: Duration) -> Read1 {
        let deadline = Instant::now() + within;
        let mut tmp = [0u8; 16 * 1024];
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                return Read1::Line(line);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Read1::Timeout;
            }
            self.s.set_read_timeout(Some(left)).ok();
            match self.s.read(&mut tmp) {
                Ok(0) => return Read1::Closed("EOF".into()),
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Read1::Closed(e.to_string()),
            }
        }
    }
}

fn initialize(s: &mut TcpStream, r: &mut LineReader) {
    let handshake = [
        msg::initialize(0, "2025-11-25").line(),
        msg::initialized().line(),
    ]
    .concat();
    s.write_all(&handshake).expect("write");
    match r.next(TIMEOUT) {
        Read1::Line(l) => {
            let m: Value = serde_json::from_slice(&l).expect("initialize answer");
            assert_eq!(m["id"], 0, "{m}");
            assert!(m["result"].is_object(), "{m}");
        }
        other => panic!("no initialize answer: {other:?}"),
    }
}

fn tool_call(id: u64, name: &str, text: &str) -> Vec<u8> {
    let args = if name == "echo" {
        json!({"text": text})
    } else {
        json!({})
    };
    msg::call(id, name).args(args).line()
}

// ------------------------------------------------------------------------------------------------
// Handler panics under load
// ------------------------------------------------------------------------------------------------

#[derive(Default, Debug)]
struct Tally {
    echo_ok: usize,
    crash_ok: usize,
    wrong: Vec<String>,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.echo_ok += other.echo_ok;
        self.crash_ok += other.crash_ok;
        self.wrong.extend(other.wrong);
    }
}

/// One client: windows of pipelined calls, every 10th to the crash tool, for `run` time.
fn mixed_client(port: u16, client: usize, run: Duration) -> Tally {
    const WINDOW: u64 = 8;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).ok();
    let mut r = LineReader::new(s.try_clone().expect("clone"));
    initialize(&mut s, &mut r);
    let mut tally = Tally::default();
    let deadline = Instant::now() + run;
    let mut next_id = 1u64;
    let text = |id: u64| {
        format!(
            "client {client} call {id} {}",
            "x".repeat((id % 64) as usize)
        )
    };
    let is_crash = |id: u64| id % 10 == 3;
    while Instant::now() < deadline && tally.wrong.len() < 20 {
        let ids: Vec<u64> = (next_id..next_id + WINDOW).collect();
        next_id += WINDOW;
        let mut batch = Vec::new();
        for &id in &ids {
            let name = if is_crash(id) { "crash" } else { "echo" };
            batch.extend(tool_call(id, name, &text(id)));
        }
        s.write_all(&batch).expect("write");
        let mut pending: std::collections::HashSet<u64> = ids.iter().copied().collect();
        while !pending.is_empty() {
            let line = match r.next(TIMEOUT) {
                Read1::Line(l) => l,
                other => {
                    tally.wrong.push(format!(
                        "client {client}: {other:?} with {pending:?} unanswered"
                    ));
                    return tally;
                }
            };
            let m: Value = match serde_json::from_slice(&line) {
                Ok(m) => m,
                Err(e) => {
                    tally.wrong.push(format!(
                        "client {client}: invalid JSON ({e}): {:?}",
                        String::from_utf8_lossy(&line)
                    ));
                    continue;
                }
            };
            let Some(id) = m["id"].as_u64().filter(|id| pending.remove(id)) else {
                tally
                    .wrong
                    .push(format!("client {client}: unexpected message {m}"));
                continue;
            };
            if is_crash(id) {
                if m["error"]["code"] == -32603 && m.get("result").is_none() {
                    tally.crash_ok += 1;
                } else {
                    tally
                        .wrong
                        .push(format!("client {client}: crash call {id} got {m}"));
                }
            } else if m["result"]["content"][0]["text"] == text(id)
                && m["result"]["isError"] != true
            {
                tally.echo_ok += 1;
            } else {
                tally
                    .wrong
                    .push(format!("client {client}: echo call {id} got {m}"));
            }
        }
    }
    tally
}

fn mixed_load(port: u16, clients: usize, run: Duration) -> Tally {
    let handles: Vec<_> = (0..clients)
        .map(|c| std::thread::spawn(move || mixed_client(port, c, run)))
        .collect();
    let mut total = Tally::default();
    for h in handles {
        total.add(h.join().expect("client thread"));
    }
    total
}

#[test]
fn handler_panics_under_load_fail_only_their_own_calls() {
    let server = Server::tcp(&[]);
    let port = server.port.expect("port");
    let pid = server.child.id();
    // Warm-up: the same load, so that allocator and executor growth settle before measuring.
    let warm = mixed_load(port, 16, Duration::from_millis(2000));
    assert!(warm.wrong.is_empty(), "warm-up: {:#?}", warm.wrong);
    std::thread::sleep(Duration::from_millis(500));
    let rss_warm = rss_kib(pid);
    let run = mixed_load(port, 16, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(500));
    let rss_after = rss_kib(pid);
    eprintln!(
        "warm-up: {} echo, {} crash; run: {} echo, {} crash; RSS {rss_warm} KiB after warm-up, {rss_after} KiB after the run",
        warm.echo_ok, warm.crash_ok, run.echo_ok, run.crash_ok
    );
    assert!(
        run.wrong.is_empty(),
        "{} wrong answers, first ones:\n{}",
        run.wrong.len(),
        run.wrong.join("\n")
    );
    assert!(
        run.crash_ok >= 100,
        "too few crash calls to mean anything: {run:?}"
    );
    assert!(
        run.echo_ok >= 9 * run.crash_ok - 16 * 8,
        "echo calls went missing: {run:?}"
    );
    // Panics leak nothing: the run's memory is within 10% + 4 MiB of the warmed-up server's.
    assert!(
        rss_after <= rss_warm + rss_warm / 10 + 4096,
        "RSS grew from {rss_warm} KiB to {rss_after} KiB over {} panics",
        run.crash_ok
    );
    // And the server is still fine for a new client.
    let after = mixed_load(port, 1, Duration::from_millis(200));
    assert!(after.wrong.is_empty() && after.crash_ok > 0, "{after:?}");
}

// ------------------------------------------------------------------------------------------------
// kill -9 under load, restart on the same ports
// ------------------------------------------------------------------------------------------------

/// `ringmcp serve --tcp <tcp> --http <http>`; returns the server and the two ports it reports.
fn spawn_both(tcp: &str, http: &str) -> (Server, u16, u16) {
    let (server, ports) = Server::listening_on(
        &["serve", "--tcp", tcp, "--http", http],
        &[],
        &["tcp://127.0.0.1:", "http://127.0.0.1:"],
    );
    (server, ports[0], ports[1])
}

/// What one client saw of the server's death.
#[derive(Debug)]
struct Outcome {
    who: String,
    good: usize,
    /// How the connection ended (EOF or an error); None if it was still open at the deadline.
    end: Option<String>,
    /// Complete frames that were not correct answers.
    garbage: Vec<String>,
    /// Bytes of a frame cut short by the kill.
    partial: usize,
}

fn echo_text(client: usize, id: u64) -> String {
    format!("{client}:{id}:{}", "k".repeat(2048 + (id % 512) as usize))
}

/// Pipelined echo calls over TCP until the connection dies; every complete line is checked.
fn tcp_hammer(port: u16, client: usize, good: Arc<AtomicUsize>, stop: Arc<AtomicBool>) -> Outcome {
    const WINDOW: u64 = 4;
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).ok();
    let mut r = LineReader::new(s.try_clone().expect("clone"));
    initialize(&mut s, &mut r);
    let mut out = Outcome {
        who: format!("tcp client {client}"),
        good: 0,
        end: None,
        garbage: Vec::new(),
        partial: 0,
    };
    let mut next_id = 1u64;
    let mut pending = std::collections::VecDeque::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        while (pending.len() as u64) < WINDOW {
            let id = next_id;
            next_id += 1;
            if let Err(e) = s.write_all(&tool_call(id, "echo", &echo_text(client, id))) {
                // The server is gone; what it sent before still has to be whole.
                out.end = Some(format!("write: {e}"));
                break;
            }
            pending.push_back(id);
        }
        match r.next(Duration::from_secs(5)) {
            Read1::Line(line) => {
                let m: Option<Value> = serde_json::from_slice(&line).ok();
                let expected = pending.pop_front();
                match (m, expected) {
                    (Some(m), Some(id))
                        if m["id"] == id
                            && m["result"]["content"][0]["text"] == echo_text(client, id) =>
                    {
                        out.good += 1;
                        good.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => out.garbage.push(format!(
                        "{} bytes: {:?}",
                        line.len(),
                        String::from_utf8_lossy(&line[..line.len().min(120)])
                    )),
                }
            }
            Read1::Closed(why) => {
                out.end = Some(why);
                out.partial = r.buf.len();
                return out;
            }
            Read1::Timeout => {
                if out.end.is_some() {
                    return out;
                }
                out.garbage
                    .push("no answer for 5 s on a live connection".into());
                return out;
            }
        }
    }
    out
}

/// Pipelined-free keep-alive 2026-07-28 POSTs until the connection dies; every complete response
/// is checked.
fn http_hammer(port: u16, client: usize, good: Arc<AtomicUsize>, stop: Arc<AtomicBool>) -> Outcome {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).ok();
    let mut out = Outcome {
        who: format!("http client {client}"),
        good: 0,
        end: None,
        garbage: Vec::new(),
        partial: 0,
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut tmp = [0u8; 16 * 1024];
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut id = 0i64;
    while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        id += 1;
        let text = echo_text(client, id as u64);
        let body = modern_body(
            id,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": text}}),
        );
        let mut req = format!("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
        for (n, v) in modern_headers("tools/call", Some("echo")) {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(&body);
        if let Err(e) = s.write_all(&bytes) {
            out.end = Some(format!("write: {e}"));
        }
        // Read one whole response: head, then Content-Length bytes of body.
        let response = loop {
            if let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let len = head
                    .lines()
                    .find_map(|l| {
                        let (n, v) = l.split_once(':')?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(usize::MAX);
                if len == usize::MAX {
                    out.garbage
                        .push(format!("response without Content-Length: {head:?}"));
                    return out;
                }
                if buf.len() >= head_end + 4 + len {
                    let body = buf[head_end + 4..head_end + 4 + len].to_vec();
                    buf.drain(..head_end + 4 + len);
                    break Some((head, body));
                }
            }
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            match s.read(&mut tmp) {
                Ok(0) => {
                    out.end = Some("EOF".into());
                    break None;
                }
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    out.garbage
                        .push("no answer for 5 s on a live connection".into());
                    return out;
                }
                Err(e) => {
                    out.end = Some(e.to_string());
                    break None;
                }
            }
        };
        let Some((head, body)) = response else {
            out.partial = buf.len();
            return out;
        };
        let m: Option<Value> = serde_json::from_slice(&body).ok();
        match m {
            Some(m)
                if head.starts_with("HTTP/1.1 200 ")
                    && m["id"] == id
                    && m["result"]["content"][0]["text"] == text =>
            {
                out.good += 1;
                good.fetch_add(1, Ordering::Relaxed);
            }
            _ => out.garbage.push(format!(
                "{head:?} + {} bytes: {:?}",
                body.len(),
                String::from_utf8_lossy(&body[..body.len().min(120)])
            )),
        }
    }
    out
}

/// Echo over TCP and HTTP on a fresh connection each; Err says what did not work.
fn serves_echo(tcp: u16, http: u16) -> Result<(), String> {
    let mut s = TcpStream::connect(("127.0.0.1", tcp)).map_err(|e| format!("tcp connect: {e}"))?;
    let mut r = LineReader::new(s.try_clone().map_err(|e| e.to_string())?);
    initialize(&mut s, &mut r);
    s.write_all(&tool_call(1, "echo", "back"))
        .map_err(|e| e.to_string())?;
    match r.next(Duration::from_secs(2)) {
        Read1::Line(l) => {
            let m: Value = serde_json::from_slice(&l).map_err(|e| e.to_string())?;
            if m["result"]["content"][0]["text"] != "back" {
                return Err(format!("tcp echo: {m}"));
            }
        }
        other => return Err(format!("tcp echo: {other:?}")),
    }
    let mut c = common::http::HttpClient::connect(http);
    c.send(
        "POST",
        "/mcp",
        &modern_headers("tools/call", Some("echo")),
        &modern_body(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "back"}}),
        ),
    );
    let r = c.read_response();
    if r.status != 200 || r.json()["result"]["content"][0]["text"] != "back" {
        return Err(format!(
            "http echo: {} {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    Ok(())
}

#[test]
fn kill_9_under_load_then_restart_on_the_same_ports() {
    let (mut server, tcp_port, http_port) = spawn_both("127.0.0.1:0", "127.0.0.1:0");
    let good = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..6 {
        let (good, stop) = (good.clone(), stop.clone());
        clients.push(std::thread::spawn(move || {
            tcp_hammer(tcp_port, c, good, stop)
        }));
    }
    for c in 0..4 {
        let (good, stop) = (good.clone(), stop.clone());
        clients.push(std::thread::spawn(move || {
            http_hammer(http_port, c, good, stop)
        }));
    }
    // Kill once traffic has been flowing for a while.
    let load_started = Instant::now();
    let deadline = load_started + Duration::from_secs(10);
    while (good.load(Ordering::Relaxed) < 2000
        || load_started.elapsed() < Duration::from_millis(800))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        good.load(Ordering::Relaxed) >= 2000,
        "the load never got going"
    );
    server.child.kill().expect("SIGKILL");
    let killed_at = Instant::now();
    server.child.wait().expect("reap");
    let outcomes: Vec<Outcome> = clients
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect();
    stop.store(true, Ordering::Relaxed);
    let ended_within = killed_at.elapsed();
    for o in &outcomes {
        eprintln!("{o:?}");
        assert!(o.good > 0, "{}: no traffic before the kill", o.who);
        assert!(
            o.garbage.is_empty(),
            "{}: complete frames that are not correct answers: {:?}",
            o.who,
            o.garbage
        );
        let end = o
            .end
            .as_deref()
            .unwrap_or_else(|| panic!("{}: the connection did not end after the kill", o.who));
        assert!(
            end == "EOF"
                || end.contains("reset")
                || end.contains("Broken pipe")
                || end.contains("aborted"),
            "{}: ended by {end:?}, not a clean EOF or reset",
            o.who
        );
    }
    assert!(
        ended_within < Duration::from_secs(5),
        "clients took {ended_within:?} to notice"
    );
    // Restart on the very same ports: SO_REUSEADDR/SO_REUSEPORT let it bind at once.
    let started = Instant::now();
    let (restarted, tcp2, http2) = spawn_both(
        &format!("127.0.0.1:{tcp_port}"),
        &format!("127.0.0.1:{http_port}"),
    );
    assert_eq!((tcp2, http2), (tcp_port, http_port));
    let mut last = Err(String::new());
    while started.elapsed() < Duration::from_secs(3) {
        last = serves_echo(tcp_port, http_port);
        if last.is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = started.elapsed();
    assert!(
        last.is_ok(),
        "the restarted server does not serve: {last:?}"
    );
    assert!(
        took < Duration::from_millis(1000),
        "serving again took {took:?} after the restart"
    );
    eprintln!("restarted and serving in {took:?}");
    drop(restarted);
}
