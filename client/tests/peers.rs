//! The blocking client against other MCP servers, in each era they speak: rmcp's server (the
//! official Rust SDK, 3.11.0, which speaks 2026-07-28 and every session-based revision) over
//! Streamable HTTP with and without sessions and over TCP, the TypeScript SDK 1.x (session-based
//! revisions only) with and without sessions, and the TypeScript SDK 2.x (2026-07-28, and the
//! older revisions through its stateless fallback, or refused). The peers are the benchmark's, in
//! `bench/peers/`, built by its `build.sh` (rmcp as a debug build: the release profile's fat LTO
//! only slows the test down). Each test starts its server on a free loopback port, lists the
//! tools, calls `echo`, closes, and kills the server when done, also when an assertion fails.
//!
//! Node.js >= 20 and npm come from PATH; without a recent enough `node` the pinned Node 22 of
//! `tests/conformance` (installed there by `npm ci`, as `tests/conformance/run.sh` does) is used.
#![allow(clippy::expect_used)]

use ringmcp_client::stream::LineTransport;
use ringmcp_client::{Client, ClientError, ConnectOptions, Era};
use ringmcp_proto::ProtocolVersion;
use serde_json::{json, Value};
use std::ffi::OsString;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};
use ProtocolVersion::{V2024_11_05, V2025_03_26, V2025_06_18, V2025_11_25, V2026_07_28};

const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/peers");
const CONFORMANCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance");

/// How long one client run (connect, list, call, close) may take before the test fails.
const CLIENT_DEADLINE: Duration = Duration::from_secs(60);
/// How long a server may take to accept connections (node's start included).
const LISTEN_DEADLINE: Duration = Duration::from_secs(30);

/// The session-based revisions a Streamable HTTP server can be asked for. 2024-11-05 is left out
/// over HTTP: its HTTP transport is the older HTTP+SSE, which none of these servers serves; it is
/// exercised over rmcp's TCP transport instead.
const LEGACY_OVER_HTTP: [ProtocolVersion; 3] = [V2025_03_26, V2025_06_18, V2025_11_25];

/// PATH with a Node.js >= 20 first: the system's if it is recent enough, else the pinned one.
fn node_path() -> &'static OsString {
    static PATH: OnceLock<OsString> = OnceLock::new();
    PATH.get_or_init(|| {
        let system = std::env::var_os("PATH").unwrap_or_default();
        if node_major(Path::new("node")).is_some_and(|major| major >= 20) {
            return system;
        }
        let bin = Path::new(CONFORMANCE).join("node_modules/.bin");
        if node_major(&bin.join("node")).is_none() {
            let npm = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(CONFORMANCE)
                .output();
            match npm {
                Ok(out) if out.status.success() => {}
                Ok(out) => panic!(
                    "npm ci in tests/conformance (the pinned Node 22) failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
                Err(e) => panic!(
                    "no Node.js >= 20 on PATH and no npm to install the pinned one ({e}): \
                     install Node.js 20 or newer with npm (e.g. `apt-get install nodejs npm`, \
                     or https://nodejs.org)"
                ),
            }
        }
        assert!(
            node_major(&bin.join("node")).is_some_and(|major| major >= 20),
            "tests/conformance/node_modules/.bin/node does not run after npm ci"
        );
        let mut dirs = vec![bin];
        dirs.extend(std::env::split_paths(&system));
        std::env::join_paths(dirs).expect("PATH entries without separators")
    })
}

/// The major version of the `node` at `program`, or `None` when it does not run.
fn node_major(program: &Path) -> Option<u32> {
    let out = Command::new(program).arg("--version").output().ok()?;
    let version = String::from_utf8(out.stdout).ok()?;
    version
        .trim()
        .strip_prefix('v')?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// Run `bench/peers/build.sh what` once per test process.
fn build(what: &'static str) {
    static RMCP: OnceLock<()> = OnceLock::new();
    static TS: OnceLock<()> = OnceLock::new();
    static TS2: OnceLock<()> = OnceLock::new();
    let once = match what {
        "rmcp-debug" => &RMCP,
        "ts" => &TS,
        "ts2" => &TS2,
        _ => panic!("no peer {what}"),
    };
    once.get_or_init(|| {
        let started = Instant::now();
        let out = Command::new("bash")
            .arg(Path::new(PEERS).join("build.sh"))
            .arg(what)
            .env("PATH", node_path())
            // The peer has its own target dir (bench/peers/rmcp-server/target), not ours.
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET_DIR")
            .output()
            .unwrap_or_else(|e| panic!("could not run bench/peers/build.sh (needs bash): {e}"));
        assert!(
            out.status.success(),
            "bench/peers/build.sh {what} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("peers: build.sh {what} took {:?}", started.elapsed());
    });
}

/// A peer server this test started; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    /// Start `program` with the arguments `args` gives for a port, on a free loopback port, and
    /// wait until it accepts. A port taken meanwhile by someone else makes the server exit: then
    /// another port is tried.
    fn start(name: &str, program: &Path, args: impl Fn(u16) -> Vec<String>) -> Server {
        for _ in 0..3 {
            let port = free_port();
            let log =
                Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("peer-{name}-{port}.log"));
            let stderr = File::create(&log).expect("create the server log");
            let child = Command::new(program)
                .args(args(port))
                .env("PATH", node_path())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("could not start {}: {e}", program.display()));
            let mut server = Server { child, port, log };
            if server.wait_listening() {
                return server;
            }
        }
        panic!(
            "{name} did not start on any of three ports; see the logs in {}",
            env!("CARGO_TARGET_TMPDIR")
        );
    }

    /// Whether the server accepts connections before [`LISTEN_DEADLINE`]; false if it exited.
    fn wait_listening(&mut self) -> bool {
        let deadline = Instant::now() + LISTEN_DEADLINE;
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                eprintln!("peers: server exited ({status}): {}", self.log_text());
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "the server did not listen within {LISTEN_DEADLINE:?}: {}",
            self.log_text()
        );
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn http(&self) -> Target {
        Target::Http(format!("http://127.0.0.1:{}/mcp", self.port))
    }

    fn tcp(&self) -> Target {
        Target::Tcp(format!("127.0.0.1:{}", self.port))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("peers: server log kept in {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("the bound address").port()
}

/// Where the client connects.
#[derive(Clone, Debug)]
enum Target {
    /// Streamable HTTP.
    Http(String),
    /// Newline-delimited JSON over TCP (`host:port`).
    Tcp(String),
}

fn connect(target: &Target, era: Era) -> Result<Client, ClientError> {
    let options = ConnectOptions {
        era,
        ..ConnectOptions::default()
    };
    match target {
        Target::Http(url) => Client::connect_http(url, options),
        Target::Tcp(addr) => Client::connect(Box::new(LineTransport::tcp(addr)?), options),
    }
}

/// What the client saw in one run against a peer.
#[derive(Debug)]
struct Seen {
    version: Option<ProtocolVersion>,
    server_name: Option<Value>,
    tools: Vec<Value>,
    echoed: Value,
}

/// Connect in `era`, list the tools, call `echo` with `text`, close; under [`CLIENT_DEADLINE`],
/// so a client that hangs fails the test instead of stalling it.
fn run_client(target: &Target, era: Era, text: &str) -> Result<Seen, ClientError> {
    let (send, recv) = mpsc::channel();
    let (target, text) = (target.clone(), text.to_owned());
    std::thread::spawn(move || {
        let run = || -> Result<Seen, ClientError> {
            let mut client = connect(&target, era)?;
            let version = client.version();
            let server_name = client
                .server()
                .server_info
                .as_ref()
                .and_then(|info| info.get("name").cloned());
            let tools = client.list_tools()?;
            let echoed = client.call_tool("echo", json!({ "text": text }))?;
            client.close()?;
            Ok(Seen {
                version,
                server_name,
                tools,
                echoed,
            })
        };
        let _ = send.send(run());
    });
    recv.recv_timeout(CLIENT_DEADLINE).unwrap_or_else(|_| {
        panic!("the client did not finish within {CLIENT_DEADLINE:?} in {era:?}")
    })
}

/// The client speaks `era` with the server, which settles on `expected`; the answers are the
/// peer's echo tool and `server_name`'s.
fn assert_speaks(target: &Target, era: Era, expected: ProtocolVersion, server_name: &str) {
    let text = format!("hello {server_name} in {era:?} ✓");
    let seen = run_client(target, era, &text)
        .unwrap_or_else(|e| panic!("{server_name} at {target:?} in {era:?}: {e}"));
    assert_eq!(
        seen.version,
        Some(expected),
        "{server_name} in {era:?}: {seen:?}"
    );
    assert_eq!(
        seen.server_name,
        Some(json!(server_name)),
        "{era:?}: {seen:?}"
    );
    let names: Vec<&Value> = seen.tools.iter().map(|tool| &tool["name"]).collect();
    assert_eq!(
        names,
        [&json!("echo")],
        "{server_name} in {era:?}: {seen:?}"
    );
    assert_eq!(
        seen.tools[0]["inputSchema"]["properties"]["text"]["type"],
        json!("string"),
        "{server_name} in {era:?}: {seen:?}"
    );
    assert_eq!(
        seen.echoed["content"],
        json!([{ "type": "text", "text": text }]),
        "{server_name} in {era:?}: {seen:?}"
    );
    assert_ne!(
        seen.echoed["isError"],
        json!(true),
        "{server_name} in {era:?}"
    );
}

/// A fixed era the server does not speak fails (a fixed era never falls back), at the handshake
/// or at the first call.
fn assert_refuses(target: &Target, era: Era, server_name: &str) {
    let outcome = run_client(target, era, "refused");
    assert!(
        outcome.is_err(),
        "{server_name} was expected to refuse {era:?}: {outcome:?}"
    );
}

fn rmcp_server(args: impl Fn(u16) -> Vec<String>) -> Server {
    build("rmcp-debug");
    let bin = Path::new(PEERS).join("rmcp-server/target/debug/rmcp-server");
    Server::start("rmcp", &bin, args)
}

fn node_server(peer: &'static str, dir: &str, args: &'static [&'static str]) -> Server {
    build(peer);
    let script = Path::new(PEERS).join(dir).join("server.mjs");
    Server::start(peer, Path::new("node"), move |port| {
        let mut all = vec![
            script.display().to_string(),
            "--port".into(),
            port.to_string(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        all
    })
}

/// rmcp over Streamable HTTP: `Auto` settles on 2026-07-28, and each fixed revision works.
fn rmcp_over_http(mode: &'static str) {
    let server = rmcp_server(|port| {
        ["--http", &format!("127.0.0.1:{port}"), "--mode", mode]
            .map(str::to_owned)
            .to_vec()
    });
    // rmcp fills serverInfo from its own crate's name.
    assert_speaks(&server.http(), Era::Auto, V2026_07_28, "rmcp");
    for v in LEGACY_OVER_HTTP.into_iter().chain([V2026_07_28]) {
        assert_speaks(&server.http(), Era::Fixed(v), v, "rmcp");
    }
}

#[test]
fn rmcp_streamable_http_with_sessions() {
    // Sessions for the legacy revisions, answers as SSE streams (rmcp's default).
    rmcp_over_http("stateful");
}

#[test]
fn rmcp_streamable_http_without_sessions() {
    // No sessions, JSON answers.
    rmcp_over_http("stateless");
}

#[test]
fn rmcp_tcp_every_revision() {
    let server = rmcp_server(|port| vec!["--tcp".into(), format!("127.0.0.1:{port}")]);
    assert_speaks(&server.tcp(), Era::Auto, V2026_07_28, "rmcp");
    for v in [
        V2024_11_05,
        V2025_03_26,
        V2025_06_18,
        V2025_11_25,
        V2026_07_28,
    ] {
        assert_speaks(&server.tcp(), Era::Fixed(v), v, "rmcp");
    }
}

/// The TypeScript SDK 1.32.2 has no 2026-07-28: `Auto` falls back to `initialize` at 2025-11-25
/// (its discover is refused), the session-based revisions work, a fixed 2026-07-28 fails.
fn typescript_sdk_1(mode: &'static str) {
    let server = node_server(
        "ts",
        "ts-server",
        if mode == "stateful" {
            &["--mode", "stateful"]
        } else {
            &["--mode", "stateless"]
        },
    );
    assert_speaks(&server.http(), Era::Auto, V2025_11_25, "ts-echo-peer");
    for v in LEGACY_OVER_HTTP {
        assert_speaks(&server.http(), Era::Fixed(v), v, "ts-echo-peer");
    }
    assert_refuses(&server.http(), Era::Fixed(V2026_07_28), "ts-echo-peer");
}

#[test]
fn typescript_sdk_1_with_sessions() {
    typescript_sdk_1("stateful");
}

#[test]
fn typescript_sdk_1_without_sessions() {
    typescript_sdk_1("stateless");
}

#[test]
fn typescript_sdk_2_both_eras() {
    // 2026-07-28 natively; 2025-era requests through the SDK's stateless fallback.
    let server = node_server("ts2", "ts2-server", &[]);
    assert_speaks(&server.http(), Era::Auto, V2026_07_28, "ts2-echo-peer");
    for v in LEGACY_OVER_HTTP.into_iter().chain([V2026_07_28]) {
        assert_speaks(&server.http(), Era::Fixed(v), v, "ts2-echo-peer");
    }
}

#[test]
fn typescript_sdk_2_modern_only() {
    // `legacy: 'reject'`: an `initialize` is answered with the unsupported-version error.
    let server = node_server("ts2", "ts2-server", &["--legacy", "reject"]);
    assert_speaks(&server.http(), Era::Auto, V2026_07_28, "ts2-echo-peer");
    assert_speaks(
        &server.http(),
        Era::Fixed(V2026_07_28),
        V2026_07_28,
        "ts2-echo-peer",
    );
    for v in LEGACY_OVER_HTTP {
        assert_refuses(&server.http(), Era::Fixed(v), "ts2-echo-peer");
    }
}
