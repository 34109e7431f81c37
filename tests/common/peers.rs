//! Peer MCP servers for tests: rmcp's (the official Rust SDK) and the TypeScript SDK's 1.x and
//! 2.x, from `bench/peers/`, built by its `build.sh` (rmcp as a debug build: the release
//! profile's fat LTO only slows a test down), each started on a free loopback port and killed
//! when dropped (also when an assertion fails), its log kept only then. Shared by the blocking
//! client's tests (`client/tests/peers.rs`) and the shard client's (`tests/shard_client_peers.rs`).
//!
//! Node.js >= 20 and npm come from PATH; without a recent enough `node` the pinned Node 22 of
//! `tests/conformance` (installed there by `npm ci`, as `tests/conformance/run.sh` does) is used.
#![allow(dead_code, clippy::expect_used)]

use std::ffi::OsString;
use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../bench/peers");
pub const CONFORMANCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance");

/// How long a server may take to accept connections (node's start included).
pub const LISTEN_DEADLINE: Duration = Duration::from_secs(30);

/// PATH with a Node.js >= 20 first: the system's if it is recent enough, else the pinned one.
pub fn node_path() -> &'static OsString {
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
pub struct Server {
    pub port: u16,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Start `program` with the arguments `args` gives for a port, on a free loopback port, and
    /// wait until it accepts. A port taken meanwhile by someone else makes the server exit: then
    /// another port is tried.
    pub fn start(name: &str, program: &Path, args: impl Fn(u16) -> Vec<String>) -> Server {
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

pub fn rmcp_server(args: impl Fn(u16) -> Vec<String>) -> Server {
    build("rmcp-debug");
    let bin = Path::new(PEERS).join("rmcp-server/target/debug/rmcp-server");
    Server::start("rmcp", &bin, args)
}

pub fn node_server(peer: &'static str, dir: &str, args: &'static [&'static str]) -> Server {
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
