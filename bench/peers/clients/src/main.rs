//! `mcp-client-load`: closed-loop MCP `tools/call echo` load written the way a user writes an MCP
//! client in Rust, to check that what `ringmcp-load` (an io_uring load generator) measures holds
//! for ordinary clients too.
//!
//! ```text
//! mcp-client-load --http --addr 127.0.0.1:8080 --workload echo        --connections 256 --server-pid PID --json
//! mcp-client-load --http --addr 127.0.0.1:8080 --workload echo-modern --connections 256 --server-pid PID --json
//! mcp-client-load --tcp  --addr 127.0.0.1:7000 --workload echo        --connections 256 --server-pid PID --json
//! ```
//!
//! - HTTP: hyper 1.x's HTTP/1.1 client connection (`hyper::client::conn::http1`, with
//!   `hyper_util::rt::TokioIo`), one keep-alive connection per closed-loop task.
//! - TCP: newline-delimited JSON-RPC with `BufReader::read_line` and `write_all` on a split
//!   `TcpStream`.
//!
//! The request bytes are those of `ringmcp-load` (bench/src/wire.rs), so that the server sees the
//! same requests and only the way they arrive differs. The JSON line it prints has the field names
//! of `ringmcp-load --json`, so one summariser reads both.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, ensure, Context, Result};
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

const MODERN: &str = "2026-07-28";
const LEGACY: &str = "2025-11-25";
/// Bytes of text in each echo call (as `ringmcp-load`).
const TEXT_LEN: usize = 64;
/// How long after the end of the window a connection may take to finish its last request before
/// it is counted as stalled.
const GRACE: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Transport {
    /// Newline-delimited JSON-RPC over TCP.
    Tcp,
    /// Streamable HTTP, one POST per request on HTTP/1.1 keep-alive connections.
    Http,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Http => "http",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// `tools/call echo` on a legacy (2025-11-25) session: initialize first.
    Echo,
    /// `tools/call echo` as a stateless 2026-07-28 request (`_meta`; over HTTP `Mcp-Method`).
    EchoModern,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Echo => "echo",
            Workload::EchoModern => "echo-modern",
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "mcp-client-load",
    about = "Closed-loop MCP echo load from an ordinary tokio/hyper client"
)]
struct Args {
    /// Server address (loopback only).
    #[arg(long, default_value = "127.0.0.1:7000")]
    addr: SocketAddr,
    /// Streamable HTTP (same as `--transport http`).
    #[arg(long, conflicts_with_all = ["tcp", "transport"])]
    http: bool,
    /// Newline-delimited JSON-RPC over TCP (same as `--transport tcp`; the default).
    #[arg(long, conflicts_with = "transport")]
    tcp: bool,
    /// How requests travel (`ringmcp-load`'s spelling of `--http` / `--tcp`).
    #[arg(long, value_enum)]
    transport: Option<Transport>,
    /// HTTP endpoint path.
    #[arg(long, default_value = "/mcp")]
    path: String,
    /// What each connection sends.
    #[arg(long, value_enum, default_value = "echo")]
    workload: Workload,
    /// Concurrent connections, each a task that sends one request and awaits its answer.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// tokio threads: 1 = a current-thread runtime, more = the multi-thread runtime.
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Seconds before measuring.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Server process ids, for CPU per request and memory.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    /// Print one JSON object instead of a line of text.
    #[arg(long)]
    json: bool,
}

impl Args {
    fn transport(&self) -> Transport {
        if self.http {
            Transport::Http
        } else if self.tcp {
            Transport::Tcp
        } else {
            self.transport.unwrap_or(Transport::Tcp)
        }
    }
}

/// The JSON-RPC echo call of a workload. serde_json's map is ordered by key, which gives exactly
/// the bytes `ringmcp-load` sends.
fn echo_call(workload: Workload, text: &str) -> Value {
    let mut params = json!({ "name": "echo", "arguments": { "text": text } });
    if workload == Workload::EchoModern {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
        });
    }
    json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params })
}

fn initialize() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": LEGACY,
            "capabilities": {},
            "clientInfo": { "name": "mcp-client-load", "version": "1" },
        },
    })
}

fn initialized() -> Value {
    json!({ "jsonrpc": "2.0", "method": "notifications/initialized" })
}

/// Whether `answer` is the successful result of the echo call: id 1, no error, the text back.
fn echo_ok(answer: &Value, text: &str) -> bool {
    answer.get("error").is_none()
        && answer["id"] == 1
        && answer["result"]["content"][0]["text"].as_str() == Some(text)
}

/// What is wrong with an echo answer, if anything (for the report's `first_error`).
fn echo_fault(answer: &Value, text: &str) -> Option<String> {
    (!echo_ok(answer, text)).then(|| {
        let mut shown = answer.to_string();
        shown.truncate(200);
        format!("not the echo result: {shown}")
    })
}

/// The JSON-RPC message of an HTTP answer body: the body itself (`application/json`) or the
/// `data:` of the first SSE event that carries a response (`text/event-stream`).
fn http_message(sse: bool, body: &[u8]) -> Result<Value> {
    if !sse {
        return serde_json::from_slice(body).context("answer body is not JSON");
    }
    let text = std::str::from_utf8(body).context("SSE body is not UTF-8")?;
    for event in text.split("\n\n") {
        let data: String = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n");
        if data.is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(&data).context("SSE data is not JSON")?;
        if v.get("id").is_some() {
            return Ok(v);
        }
    }
    bail!("SSE body without a response")
}

/// One HTTP/1.1 keep-alive connection of hyper's client.
struct HttpConn {
    sender: SendRequest<Full<Bytes>>,
    path: Arc<str>,
    host: HeaderValue,
    session: Option<HeaderValue>,
    workload: Workload,
}

impl HttpConn {
    async fn connect(addr: SocketAddr, path: Arc<str>, workload: Workload) -> Result<Self> {
        let stream = TcpStream::connect(addr).await.context("connect")?;
        // Without it a request that hyper writes in two pieces can wait for a delayed ACK.
        stream.set_nodelay(true).context("TCP_NODELAY")?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP/1.1 handshake")?;
        tokio::spawn(async move {
            // Its failure shows up as the failure of the next request on this connection.
            let _ = connection.await;
        });
        let host = HeaderValue::from_str(&addr.to_string()).context("Host header")?;
        let mut conn = HttpConn {
            sender,
            path,
            host,
            session: None,
            workload,
        };
        if workload == Workload::Echo {
            conn.open_session().await?;
        }
        Ok(conn)
    }

    /// initialize (keeping the `Mcp-Session-Id` it gives) and notifications/initialized.
    async fn open_session(&mut self) -> Result<()> {
        let body = Bytes::from(initialize().to_string());
        let (status, session, sse, answer) = self.post(body).await.context("initialize")?;
        ensure!(status == StatusCode::OK, "initialize answered {status}");
        let answer = http_message(sse, &answer)?;
        ensure!(
            answer.get("result").is_some(),
            "initialize failed: {answer}"
        );
        self.session = session;
        let body = Bytes::from(initialized().to_string());
        let (status, ..) = self.post(body).await.context("notifications/initialized")?;
        ensure!(
            status == StatusCode::ACCEPTED,
            "notifications/initialized answered {status}"
        );
        Ok(())
    }

    /// POST one JSON-RPC message: the status, the session id, whether the answer is SSE, and
    /// the whole body.
    async fn post(
        &mut self,
        body: Bytes,
    ) -> Result<(StatusCode, Option<HeaderValue>, bool, Bytes)> {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(&*self.path)
            .header(HOST, self.host.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        if let Some(s) = &self.session {
            req = req
                .header("mcp-session-id", s.clone())
                .header("mcp-protocol-version", LEGACY);
        }
        if self.workload == Workload::EchoModern {
            req = req
                .header("mcp-protocol-version", MODERN)
                .header("mcp-method", "tools/call")
                .header("mcp-name", "echo");
        }
        let req = req.body(Full::new(body)).context("building the request")?;
        self.sender.ready().await.context("connection closed")?;
        let resp = self.sender.send_request(req).await.context("request")?;
        let status = resp.status();
        let session = resp.headers().get("mcp-session-id").cloned();
        let sse = resp
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
        let body = resp
            .into_body()
            .collect()
            .await
            .context("answer body")?
            .to_bytes();
        Ok((status, session, sse, body))
    }

    /// One echo call: `Ok(None)` for the right answer, `Ok(Some(why))` for a wrong one.
    async fn call(&mut self, body: Bytes, text: &str) -> Result<Option<String>> {
        let (status, _, sse, answer) = self.post(body).await?;
        if status != StatusCode::OK {
            return Ok(Some(format!("HTTP {status}")));
        }
        Ok(match http_message(sse, &answer) {
            Ok(v) => echo_fault(&v, text),
            Err(e) => Some(format!("{e:#}")),
        })
    }
}

/// One newline-delimited JSON-RPC connection.
struct TcpConn {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    line: String,
}

impl TcpConn {
    async fn connect(addr: SocketAddr, workload: Workload) -> Result<Self> {
        let stream = TcpStream::connect(addr).await.context("connect")?;
        stream.set_nodelay(true).context("TCP_NODELAY")?;
        let (read, writer) = stream.into_split();
        let mut conn = TcpConn {
            reader: BufReader::new(read),
            writer,
            line: String::new(),
        };
        if workload == Workload::Echo {
            let answer = conn
                .exchange(&line_of(&initialize()))
                .await
                .context("initialize")?;
            ensure!(
                answer.get("result").is_some(),
                "initialize failed: {answer}"
            );
            conn.writer
                .write_all(&line_of(&initialized()))
                .await
                .context("notifications/initialized")?;
        }
        Ok(conn)
    }

    /// Send one request line and read lines until its response (skipping server notifications).
    async fn exchange(&mut self, request: &[u8]) -> Result<Value> {
        self.writer.write_all(request).await.context("write")?;
        loop {
            self.line.clear();
            let n = self
                .reader
                .read_line(&mut self.line)
                .await
                .context("read")?;
            if n == 0 {
                bail!("server closed the connection");
            }
            let v: Value = serde_json::from_str(&self.line)
                .with_context(|| format!("answer is not JSON: {:?}", self.line))?;
            if v.get("id").is_some() {
                return Ok(v);
            }
        }
    }

    /// One echo call: `Ok(None)` for the right answer, `Ok(Some(why))` for a wrong one.
    async fn call(&mut self, request: &[u8], text: &str) -> Result<Option<String>> {
        Ok(echo_fault(&self.exchange(request).await?, text))
    }
}

fn line_of(message: &Value) -> Vec<u8> {
    let mut line = message.to_string().into_bytes();
    line.push(b'\n');
    line
}

enum Conn {
    Http(HttpConn),
    Tcp(TcpConn),
}

/// What one connection saw.
struct Stats {
    hist: Histogram<u64>,
    /// Answers received inside the window.
    requests: u64,
    /// Broken connections (socket errors, closes, unreadable answers) and stalled ones.
    errors: u64,
    /// Answers that are not the echo result (HTTP error status, JSON-RPC error, wrong text),
    /// warm-up included.
    rpc_errors: u64,
    first_error: Option<String>,
}

impl Stats {
    fn new() -> Result<Self> {
        Ok(Stats {
            hist: Histogram::new_with_bounds(1, 120_000_000_000, 3)
                .map_err(|e| anyhow!("histogram: {e}"))?,
            requests: 0,
            errors: 0,
            rpc_errors: 0,
            first_error: None,
        })
    }

    fn add(&mut self, other: Stats) -> Result<()> {
        self.hist
            .add(&other.hist)
            .map_err(|e| anyhow!("histogram: {e}"))?;
        self.requests += other.requests;
        self.errors += other.errors;
        self.rpc_errors += other.rpc_errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct Window {
    record_from: Instant,
    stop_at: Instant,
}

/// The closed loop of one connection: send, await the answer, check it, send the next.
async fn drive(mut conn: Conn, request: Bytes, text: Arc<str>, w: Window) -> Result<Stats> {
    let mut stats = Stats::new()?;
    loop {
        let sent = Instant::now();
        if sent >= w.stop_at {
            break;
        }
        let answer = match &mut conn {
            Conn::Http(c) => c.call(request.clone(), &text).await,
            Conn::Tcp(c) => c.call(&request, &text).await,
        };
        let now = Instant::now();
        match answer {
            Ok(fault) => {
                if let Some(why) = fault {
                    stats.rpc_errors += 1;
                    stats.first_error.get_or_insert(why);
                }
                if sent >= w.record_from && now < w.stop_at {
                    let _ = stats
                        .hist
                        .record(now.duration_since(sent).as_nanos() as u64);
                    stats.requests += 1;
                }
            }
            Err(e) => {
                stats.errors += 1;
                stats.first_error = Some(format!("{e:#}"));
                break;
            }
        }
    }
    Ok(stats)
}

fn proc_fields(pid: u32, file: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    // In stat, the command name (which may hold spaces) ends at the last ')'.
    let rest = text.rsplit_once(')').map_or(text.as_str(), |(_, r)| r);
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime of the process (all its threads) in microseconds, from /proc/PID/stat.
fn process_cpu_us(pid: u32) -> u64 {
    let Some(f) = proc_fields(pid, "stat") else {
        return 0;
    };
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of stat: 11 and 12 after the ')'.
    let ticks = field(11) + field(12);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    ticks * 1_000_000 / hz
}

fn process_rss_bytes(pid: u32) -> u64 {
    let pages = proc_fields(pid, "statm")
        .and_then(|f| f.get(1).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(1) as u64;
    pages * page
}

fn sum_over(pids: &[u32], f: fn(u32) -> u64) -> u64 {
    pids.iter().map(|&p| f(p)).sum()
}

struct Measured {
    cpu_us: u64,
    window_s: f64,
}

/// Reads the server's CPU time at the start and the end of the window, on a thread of its own so
/// that a busy runtime cannot delay the readings.
fn measure(pids: Vec<u32>, w: Window) -> std::thread::JoinHandle<Measured> {
    std::thread::spawn(move || {
        std::thread::sleep(w.record_from.saturating_duration_since(Instant::now()));
        let cpu_start = sum_over(&pids, process_cpu_us);
        let began = Instant::now();
        std::thread::sleep(w.stop_at.saturating_duration_since(Instant::now()));
        let cpu_end = sum_over(&pids, process_cpu_us);
        Measured {
            cpu_us: cpu_end.saturating_sub(cpu_start),
            window_s: began.elapsed().as_secs_f64(),
        }
    })
}

async fn run(args: Args) -> Result<()> {
    let transport = args.transport();
    ensure!(
        args.addr.ip().is_loopback(),
        "refusing a non-loopback target {}",
        args.addr
    );
    ensure!(args.connections > 0, "--connections must be at least 1");
    let text: Arc<str> = "x".repeat(TEXT_LEN).into();
    let call = echo_call(args.workload, &text);
    let request = Bytes::from(match transport {
        Transport::Http => call.to_string().into_bytes(),
        Transport::Tcp => line_of(&call),
    });
    let path: Arc<str> = args.path.as_str().into();

    let rss_before = sum_over(&args.server_pid, process_rss_bytes);
    let setup_began = Instant::now();
    let mut conns = Vec::with_capacity(args.connections);
    for i in 0..args.connections {
        let conn = match transport {
            Transport::Http => HttpConn::connect(args.addr, path.clone(), args.workload)
                .await
                .map(Conn::Http),
            Transport::Tcp => TcpConn::connect(args.addr, args.workload)
                .await
                .map(Conn::Tcp),
        };
        conns.push(conn.with_context(|| format!("setting up connection {i}"))?);
    }
    let setup_s = setup_began.elapsed().as_secs_f64();

    let start = Instant::now();
    let record_from = start + Duration::from_secs_f64(args.warmup);
    let w = Window {
        record_from,
        stop_at: record_from + Duration::from_secs_f64(args.duration),
    };
    let measuring = measure(args.server_pid.clone(), w);
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|c| tokio::spawn(drive(c, request.clone(), text.clone(), w)))
        .collect();

    let mut total = Stats::new()?;
    let deadline = tokio::time::Instant::from_std(w.stop_at + GRACE);
    let mut stalled = 0u64;
    for mut task in tasks {
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(joined) => total.add(joined.context("connection task")??)?,
            Err(_) => {
                task.abort();
                stalled += 1;
            }
        }
    }
    if stalled > 0 {
        total.errors += stalled;
        total.first_error.get_or_insert_with(|| {
            format!("{stalled} connection(s) got no answer within {GRACE:?} after the window")
        });
    }
    let m = measuring
        .join()
        .map_err(|_| anyhow!("the measuring thread panicked"))?;

    let rate = total.requests as f64 / args.duration;
    let cpu_per_req = (total.requests > 0 && !args.server_pid.is_empty())
        .then(|| m.cpu_us as f64 / (rate * m.window_s));
    let rss = sum_over(&args.server_pid, process_rss_bytes);
    let hist = &total.hist;
    let us = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "client": "mcp-client-load",
        "transport": transport.name(),
        "workload": args.workload.name(),
        "connections": args.connections,
        "workers": args.workers,
        "processes": 1,
        "depth": 1,
        "open_loop_rate": 0.0,
        "duration_s": args.duration,
        "setup_s": setup_s,
        "requests": total.requests,
        "errors": total.errors,
        "rpc_errors": total.rpc_errors,
        "first_error": total.first_error,
        "req_per_s": rate,
        "latency_us": {"p50": us(0.5), "p90": us(0.9), "p99": us(0.99), "p999": us(0.999), "max": hist.max() as f64 / 1000.0},
        "server_processes": args.server_pid.len(),
        "server_cpu_us_per_req": cpu_per_req,
        "server_rss_bytes": rss,
        "server_rss_before_bytes": rss_before,
        "server_rss_bytes_per_connection": rss.saturating_sub(rss_before) as f64 / args.connections as f64,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{}/{} C={} workers={}: {:.0} req/s, p50 {:.0} us, p90 {:.0} us, p99 {:.0} us, p99.9 {:.0} us, max {:.0} us, errors {} (JSON-RPC/HTTP {}), server CPU {} us/req, server RSS {} KiB",
            transport.name(),
            args.workload.name(),
            args.connections,
            args.workers,
            rate,
            us(0.5),
            us(0.9),
            us(0.99),
            us(0.999),
            hist.max() as f64 / 1000.0,
            total.errors,
            total.rpc_errors,
            cpu_per_req.map_or("n/a".into(), |c| format!("{c:.2}")),
            rss / 1024
        );
    }
    if total.errors + total.rpc_errors > 0 {
        eprintln!(
            "mcp-client-load: this run had errors ({} broken connections, {} bad answers; first: {}): its figures do not count",
            total.errors,
            total.rpc_errors,
            total.first_error.as_deref().unwrap_or("a wrong answer")
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let runtime = if args.workers <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.workers)
            .enable_all()
            .build()
    }
    .context("tokio runtime")?;
    runtime.block_on(run(args))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The bytes of bench/src/wire.rs's `bodies_are_the_bytes_the_published_figures_were_measured_with`.
    #[test]
    fn requests_are_ringmcp_loads_bytes() {
        let x = "x".repeat(TEXT_LEN);
        assert_eq!(
            echo_call(Workload::Echo, &x).to_string(),
            format!(
                r#"{{"id":1,"jsonrpc":"2.0","method":"tools/call","params":{{"arguments":{{"text":"{x}"}},"name":"echo"}}}}"#
            )
        );
        assert_eq!(
            echo_call(Workload::EchoModern, &x).to_string(),
            format!(
                r#"{{"id":1,"jsonrpc":"2.0","method":"tools/call","params":{{"_meta":{{"io.modelcontextprotocol/clientCapabilities":{{}},"io.modelcontextprotocol/protocolVersion":"2026-07-28"}},"arguments":{{"text":"{x}"}},"name":"echo"}}}}"#
            )
        );
    }

    #[test]
    fn answers_are_checked() {
        let ok = json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}});
        assert!(echo_ok(&ok, "hi"));
        assert!(!echo_ok(&ok, "ho"));
        let err = json!({"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}});
        assert!(!echo_ok(&err, "hi"));
        let sse = b"id: 1\nretry: 3000\ndata:\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}}\n\n";
        assert!(echo_ok(&http_message(true, sse).unwrap(), "hi"));
        assert!(http_message(false, b"nope").is_err());
    }
}
