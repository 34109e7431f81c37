//! Black-box harness: spawn the built `ringmcp` binary and talk JSON-RPC to it over stdio, TCP
//! (newline-delimited JSON) or Streamable HTTP (`streamable`), through one `Client` whose reads
//! all have a timeout, so a server that hangs fails the test instead of blocking it. Messages are
//! built with `ringmcp_testkit::msg` and checked with `ringmcp_testkit::expect`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod cluster;
pub mod http;
pub mod nodes;
pub mod shard;
mod streamable;

use ringmcp_testkit::expect;
use ringmcp_testkit::msg::{self, Msg};
use serde_json::{json, Value};
use std::io::ErrorKind;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use streamable::Streamable;

pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const LEGACY: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
pub const MODERN: &str = "2026-07-28";

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_ringmcp")
}

/// A running server process; killed on drop.
pub struct Server {
    pub child: Child,
    pub port: Option<u16>,
    pub stderr: Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines read by a thread of their own, so that every read can be bounded by a timeout.
pub fn lines_of(reader: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl Server {
    /// `ringmcp serve --tcp 127.0.0.1:0 <extra>`; waits for the listening line.
    pub fn tcp(extra: &[&str]) -> Server {
        Self::listening(
            &["serve", "--tcp", "127.0.0.1:0"],
            extra,
            "tcp://127.0.0.1:",
        )
    }

    /// `ringmcp serve --http 127.0.0.1:0 <extra>`; waits for the listening line.
    pub fn http(extra: &[&str]) -> Server {
        Self::listening(
            &["serve", "--http", "127.0.0.1:0"],
            extra,
            "http://127.0.0.1:",
        )
    }

    /// Start `ringmcp <args> <extra>` and wait for the stderr line containing `marker` + port.
    pub fn listening(args: &[&str], extra: &[&str], marker: &str) -> Server {
        Self::listening_on(args, extra, &[marker]).0
    }

    /// Start `ringmcp <args> <extra>` and wait until stderr has named a port after each of
    /// `markers` (e.g. `tcp://127.0.0.1:` and `http://127.0.0.1:`); `port` is the first one.
    pub fn listening_on(args: &[&str], extra: &[&str], markers: &[&str]) -> (Server, Vec<u16>) {
        let mut child = Command::new(bin())
            .args(args)
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ringmcp");
        let stderr = lines_of(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + TIMEOUT;
        let mut ports: Vec<Option<u16>> = vec![None; markers.len()];
        while ports.iter().any(Option::is_none) {
            let line = stderr
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("server did not say where it listens");
            for (port, marker) in ports.iter_mut().zip(markers) {
                if let Some(rest) = line.split(marker).nth(1) {
                    *port = port.or(rest
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                        .and_then(|p| p.parse().ok()));
                }
            }
        }
        let ports: Vec<u16> = ports.into_iter().flatten().collect();
        let server = Server {
            child,
            port: ports.first().copied(),
            stderr,
        };
        (server, ports)
    }

    /// The server's resident memory in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }

    /// A new TCP connection to this server.
    pub fn connect(&self) -> Client {
        let stream =
            TcpStream::connect(("127.0.0.1", self.port.expect("tcp server"))).expect("connect");
        stream.set_nodelay(true).ok();
        let reader = stream.try_clone().expect("clone");
        let tcp = stream.try_clone().ok();
        Client {
            out: Out::Stream(Box::new(stream)),
            lines: lines_of(reader),
            pending: Vec::new(),
            tcp,
        }
    }

    /// A new client of this server on `via` (TCP or HTTP; a stdio server has only its own).
    pub fn client(&self, via: Via) -> Client {
        match via {
            Via::Tcp => self.connect(),
            Via::Http => Client::http(self.port.expect("http server")),
            Via::Stdio => panic!("a stdio server has one client, made by Server::stdio"),
        }
    }

    /// A server listening on `via` (TCP or HTTP).
    pub fn on(via: Via, extra: &[&str]) -> Server {
        match via {
            Via::Tcp => Server::tcp(extra),
            Via::Http => Server::http(extra),
            Via::Stdio => panic!("a stdio server is opened with its client: Server::stdio"),
        }
    }

    /// `ringmcp serve --stdio <extra>` and a client on its pipes.
    pub fn stdio(extra: &[&str]) -> (Server, Client) {
        let mut child = Command::new(bin())
            .args(["serve", "--stdio"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ringmcp");
        let stdin: ChildStdin = child.stdin.take().expect("stdin");
        let lines = lines_of(child.stdout.take().expect("stdout"));
        let stderr = lines_of(child.stderr.take().expect("stderr"));
        (
            Server {
                child,
                port: None,
                stderr,
            },
            Client {
                out: Out::Stream(Box::new(stdin)),
                lines,
                pending: Vec::new(),
                tcp: None,
            },
        )
    }

    /// Wait for the process to exit; returns its code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Resident memory of a process in KiB (VmRSS of /proc/PID/status).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// Which transport a protocol test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Stdio,
    Tcp,
    /// Streamable HTTP: a legacy session after `initialize`, 2026-07-28 requests before.
    Http,
}

/// One test per transport for the scenario `$scenario(via: Via)`, in a module named after it:
/// `for_each_transport!(pagination)` makes `pagination::stdio`, `pagination::tcp` and
/// `pagination::http`. A scenario that cannot run on some transport lists those it runs on
/// (`for_each_transport!(oversize: stdio => Stdio, tcp => Tcp)`) and says why beside it.
#[allow(unused_macros)]
macro_rules! for_each_transport {
    ($scenario:ident) => {
        for_each_transport!($scenario: stdio => Stdio, tcp => Tcp, http => Http);
    };
    ($scenario:ident: $($test:ident => $via:ident),+) => {
        mod $scenario {
            $(
                #[test]
                fn $test() {
                    super::$scenario($crate::common::Via::$via)
                }
            )+
        }
    };
}
#[allow(unused_imports)]
pub(crate) use for_each_transport;

/// A server plus one client on it.
pub fn open(via: Via, extra: &[&str]) -> (Server, Client) {
    match via {
        Via::Stdio => Server::stdio(extra),
        Via::Tcp | Via::Http => {
            let server = Server::on(via, extra);
            let client = server.client(via);
            (server, client)
        }
    }
}

/// What a message sent by `Client::send` may be: a built message or any JSON value.
pub trait Outgoing {
    fn into_value(self) -> Value;
}

impl Outgoing for Msg {
    fn into_value(self) -> Value {
        self.value()
    }
}

impl Outgoing for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl Outgoing for &Value {
    fn into_value(self) -> Value {
        self.clone()
    }
}

/// Where a client's bytes go.
enum Out {
    /// Newline-delimited JSON on a socket or the process' stdin.
    Stream(Box<dyn Write + Send>),
    /// One POST per message.
    Http(Streamable),
}

/// One client: a TCP connection, the process' pipes, or a Streamable HTTP client. Whatever the
/// transport, the server's messages arrive as one queue of JSON texts.
pub struct Client {
    out: Out,
    lines: Receiver<String>,
    /// Messages read while looking for something else.
    pub pending: Vec<Value>,
    tcp: Option<TcpStream>,
}

impl Drop for Client {
    fn drop(&mut self) {
        // The reader thread holds a clone of the socket: shut it down so the server sees the close.
        if let Some(s) = &self.tcp {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Client {
    /// A Streamable HTTP client of the server on `port`.
    pub fn http(port: u16) -> Client {
        let (tx, lines) = channel();
        Client {
            out: Out::Http(Streamable::new(port, tx)),
            lines,
            pending: Vec::new(),
            tcp: None,
        }
    }

    /// Close the sending side (stdin of a stdio server).
    pub fn close_write(&mut self) {
        match &mut self.out {
            Out::Stream(w) => *w = Box::new(std::io::sink()),
            Out::Http(_) => panic!("HTTP has no input stream to half-close"),
        }
    }

    /// Exact bytes: a line (or less, or more) on a stream, one POST body over HTTP.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        match &mut self.out {
            Out::Stream(w) => {
                w.write_all(bytes).expect("write");
                w.flush().expect("flush");
            }
            Out::Http(h) => h.post(bytes),
        }
    }

    /// One message (or batch), framed for the transport.
    pub fn send(&mut self, msg: impl Outgoing) {
        let mut line = serde_json::to_vec(&msg.into_value()).expect("json");
        line.push(b'\n');
        self.send_raw(&line);
    }

    pub fn request(&mut self, id: impl Into<Value>, method: &str, params: Value) {
        let mut msg = msg::request(id, method);
        if !params.is_null() {
            msg = msg.params(params);
        }
        self.send(msg);
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        let mut msg = msg::notification(method);
        if !params.is_null() {
            msg = msg.params(params);
        }
        self.send(msg);
    }

    /// Send request `msg` and return its result (the answer must be a result for its id).
    pub fn result(&mut self, msg: Msg) -> Value {
        let id = msg.clone().value()["id"].clone();
        self.send(msg);
        let answer = self.response(id.clone());
        expect::result(&answer, id)
    }

    /// Send request `msg` and return its error object, which must carry `code`.
    pub fn error(&mut self, msg: Msg, code: i64) -> Value {
        let id = msg.clone().value()["id"].clone();
        self.send(msg);
        let answer = self.response(id.clone());
        expect::error(&answer, id, code)
    }

    /// The next line from the server, as sent.
    pub fn next_line(&mut self, within: Duration) -> Option<String> {
        self.lines.recv_timeout(within).ok()
    }

    /// The next line from the server, parsed.
    pub fn next(&mut self, within: Duration) -> Option<Value> {
        match self.lines.recv_timeout(within) {
            Ok(line) if line.starts_with("HTTP transport:") => panic!("{line}"),
            Ok(line) => Some(
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("server wrote invalid JSON {line:?}: {e}")),
            ),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// The response with this id (notifications and other responses seen meanwhile go to `pending`).
    pub fn response(&mut self, id: impl Into<Value>) -> Value {
        let id = id.into();
        if let Some(i) = self
            .pending
            .iter()
            .position(|m| m.get("id") == Some(&id) && m.get("method").is_none())
        {
            return self.pending.remove(i);
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self
                .next(left)
                .unwrap_or_else(|| panic!("no response with id {id} (seen: {:?})", self.pending));
            if msg.get("id") == Some(&id) && msg.get("method").is_none() {
                return msg;
            }
            self.pending.push(msg);
        }
    }

    /// The next message that is not a response (a notification).
    pub fn notification(&mut self, method: &str) -> Value {
        if let Some(i) = self
            .pending
            .iter()
            .position(|m| m.get("method").and_then(Value::as_str) == Some(method))
        {
            return self.pending.remove(i);
        }
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self
                .next(left)
                .unwrap_or_else(|| panic!("no {method} notification (seen: {:?})", self.pending));
            if msg.get("method").and_then(Value::as_str) == Some(method) {
                return msg;
            }
            self.pending.push(msg);
        }
    }

    /// Send a request and return its result (panics on an error response).
    pub fn call(&mut self, id: impl Into<Value> + Clone, method: &str, params: Value) -> Value {
        self.request(id.clone(), method, params);
        let resp = self.response(id);
        resp.get("result")
            .cloned()
            .unwrap_or_else(|| panic!("{method} failed: {resp}"))
    }

    /// Send a request and return its error object (panics on success).
    pub fn call_err(&mut self, id: impl Into<Value> + Clone, method: &str, params: Value) -> Value {
        self.request(id.clone(), method, params);
        let resp = self.response(id);
        resp.get("error")
            .cloned()
            .unwrap_or_else(|| panic!("{method} should have failed: {resp}"))
    }

    /// Legacy handshake at `version`; returns the initialize result.
    pub fn initialize(&mut self, version: &str) -> Value {
        self.handshake(msg::initialize(0, version))
    }

    /// Legacy handshake with this `initialize` request (other capabilities, say); returns its
    /// result.
    pub fn handshake(&mut self, initialize: Msg) -> Value {
        let result = self.result(initialize);
        self.send(msg::initialized());
        result
    }

    /// Nothing arrives within `within`.
    pub fn assert_silent(&mut self, within: Duration) {
        if let Some(msg) = self.next(within) {
            panic!("expected silence, got {msg}");
        }
    }
}

/// `_meta` of a 2026-07-28 request.
pub fn modern_meta() -> Value {
    msg::stateless_meta()
}

/// Params with a modern `_meta` merged in.
pub fn modern(mut params: Value) -> Value {
    if params.is_null() {
        params = json!({});
    }
    params["_meta"] = modern_meta();
    params
}

pub fn code(err: &Value) -> i64 {
    err["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no code in {err}"))
}

pub fn text_of(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {result}"))
        .to_owned()
}

// ------------------------------------------------------------------------------------------------
// Raw sockets for the clients that misbehave on purpose (lines.rs, http.rs)
// ------------------------------------------------------------------------------------------------

/// A connection whose receive buffer is small from the start.
pub fn small_rcvbuf_connect(port: u16) -> TcpStream {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    // Set before connect so that the advertised window stays small: the kernel cannot hide a
    // client that never reads behind megabytes of receive buffer.
    sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    sock.connect(&addr.into()).expect("connect");
    let s: TcpStream = sock.into();
    s.set_nodelay(true).ok();
    s
}

/// A connection from another loopback address (servers rate-limit per client address).
pub fn connect_from(ip: Ipv4Addr, port: u16) -> TcpStream {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    sock.bind(&SocketAddr::from((ip, 0)).into()).expect("bind");
    sock.connect(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)).into())
        .expect("connect");
    sock.into()
}

/// Make the close of `s` a reset (RST) instead of an orderly FIN.
pub fn reset(s: &TcpStream) {
    socket2::SockRef::from(s)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
}

/// The peer reset (or otherwise tore down) the connection.
pub fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
    )
}
