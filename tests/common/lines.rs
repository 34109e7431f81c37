//! A raw newline-delimited JSON-RPC client for black-box tests: exact bytes out on a TCP
//! connection, answers read line by line with every read bounded by a timeout, and the end of
//! the connection (EOF or reset) reported rather than hidden. Unlike `common::Client` it keeps
//! no reader thread, so a test decides when (and whether) the socket is read. Included with
//! `#[path = "common/lines.rs"]`; it owns no server.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ringmcp_testkit::msg;
use serde_json::{json, Value};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How long a read waits for an answer that is due.
pub const READ: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Eof,
    Reset,
}

pub enum Got {
    Line(Vec<u8>),
    End(End),
    Timeout,
}

/// A raw connection read line by line, every read bounded by a timeout.
pub struct Lines {
    pub s: TcpStream,
    buf: Vec<u8>,
    ended: Option<End>,
}

impl Lines {
    pub fn connect(port: u16) -> Lines {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).ok();
        Lines::on(s)
    }

    pub fn on(s: TcpStream) -> Lines {
        Lines {
            s,
            buf: Vec::new(),
            ended: None,
        }
    }

    /// Connected and initialized at 2025-11-25.
    pub fn ready(port: u16) -> Lines {
        let mut l = Lines::connect(port);
        l.initialize("2025-11-25");
        l
    }

    pub fn initialize(&mut self, version: &str) {
        self.send(&msg::initialize(0, version).line());
        let r = self.response(&json!(0));
        assert_eq!(r["result"]["protocolVersion"], version, "{r}");
        self.send(&msg::initialized().line());
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.s
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("write failed: {e}"));
    }

    pub fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.s.write_all(bytes)
    }

    pub fn send_json(&mut self, msg: &Value) {
        let mut line = serde_json::to_vec(msg).expect("json");
        line.push(b'\n');
        self.send(&line);
    }

    pub fn next(&mut self, within: Duration) -> Got {
        let deadline = Instant::now() + within;
        let mut tmp = vec![0u8; 64 * 1024];
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                return Got::Line(line);
            }
            if let Some(e) = self.ended {
                return Got::End(e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Got::Timeout;
            }
            self.s
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok();
            match self.s.read(&mut tmp) {
                Ok(0) => self.ended = Some(End::Eof),
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.ended = Some(End::Reset),
            }
        }
    }

    pub fn raw_line(&mut self) -> String {
        match self.next(READ) {
            Got::Line(l) => String::from_utf8(l)
                .unwrap_or_else(|e| panic!("the server wrote a line that is not UTF-8: {e}")),
            Got::End(e) => panic!("the connection ended ({e:?}) while an answer was due"),
            Got::Timeout => panic!("no answer within {READ:?}"),
        }
    }

    pub fn msg(&mut self) -> Value {
        let line = self.raw_line();
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the server wrote invalid JSON {line:?}: {e}"))
    }

    /// The response with this id; anything else arriving first is a failure.
    pub fn response(&mut self, id: &Value) -> Value {
        let m = self.msg();
        assert!(
            m.get("id") == Some(id) && m.get("method").is_none(),
            "expected the response with id {id}, got {m}"
        );
        m
    }

    pub fn silent(&mut self, within: Duration) {
        match self.next(within) {
            Got::Line(l) => panic!("expected no answer, got {:?}", String::from_utf8_lossy(&l)),
            Got::End(e) => panic!("expected no answer, but the connection ended ({e:?})"),
            Got::Timeout => {}
        }
    }

    /// Every line until the connection ends (None: it did not end within `within`).
    pub fn until_end(&mut self, within: Duration) -> (Vec<Vec<u8>>, Option<End>) {
        let deadline = Instant::now() + within;
        let mut lines = Vec::new();
        loop {
            match self.next(deadline.saturating_duration_since(Instant::now())) {
                Got::Line(l) => lines.push(l),
                Got::End(e) => return (lines, Some(e)),
                Got::Timeout => return (lines, None),
            }
        }
    }

    /// The same connection still answers `tools/call echo`.
    pub fn still_echoes(&mut self) {
        self.send(&echo_line(json!("after"), "still here"));
        let r = self.response(&json!("after"));
        assert_eq!(r["result"]["content"][0]["text"], "still here", "{r}");
    }
}

pub fn echo_line(id: Value, text: &str) -> Vec<u8> {
    msg::call(id, "echo").args(json!({"text": text})).line()
}
