//! The cluster test kit: real `redis-server` and `haproxy` processes started on free loopback
//! ports with the shipped configurations (`tuning/cluster/`), a minimal synchronous RESP client
//! for assertions on Redis, and `ensure_tool`, which finds the tools or installs their Debian
//! packages (serialised across test processes) so that no test ever skips. It starts ringmcp
//! nodes only through `Server` of `common`; it owns no MCP client logic.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::{lines_of, Server};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a started Redis or HAProxy gets to answer.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A key ring every node of a test cluster shares (`--cluster-key`): one key, `k1`, of 32 bytes.
pub const RING: &str = "k1 ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// `tuning/cluster/<name>`, the shipped configuration files.
pub fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tuning/cluster")
        .join(name)
}

/// A loopback port free right now (bound, then released: another process may still take it, a
/// race the tests accept).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A fresh, empty directory under the system's temporary directory.
pub fn temp_dir(what: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "ringmcp-{what}-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

// ------------------------------------------------------------------------------------------------
// Finding (or installing) the tools
// ------------------------------------------------------------------------------------------------

/// The lock every test process takes before running apt-get: concurrent runs fight over the dpkg
/// lock and fail.
const APT_LOCK: &str = "/tmp/ringmcp-apt.lock";
/// Touched after a successful `apt-get update`; a younger one means no update is needed.
const APT_UPDATED: &str = "/tmp/ringmcp-apt.updated";

fn find_tool(cmd: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(cmd))
        .find(|p| p.is_file())
}

/// The path of `cmd`. Where it is missing and the tests run as root on a host with apt-get, the
/// Debian package `debian_pkg` is installed first (one install at a time across test processes,
/// `apt-get update` once before the first); otherwise the test fails naming the command to run.
pub fn ensure_tool(cmd: &str, debian_pkg: &str) -> PathBuf {
    if let Some(p) = find_tool(cmd) {
        return p;
    }
    let help = "apt-get install redis-server haproxy";
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let Some(apt) = find_tool("apt-get").filter(|_| root) else {
        panic!("{cmd} is not installed and the tests cannot install it (not root, or no apt-get): run `{help}`");
    };
    let lock = File::create(APT_LOCK).unwrap_or_else(|e| panic!("{APT_LOCK}: {e}"));
    // SAFETY: the descriptor is open for the whole call; flock blocks until the lock is ours and
    // closing `lock` at the end of this function releases it.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        panic!("flock {APT_LOCK}: {}", std::io::Error::last_os_error());
    }
    // Another test process may have installed it while this one waited for the lock.
    if let Some(p) = find_tool(cmd) {
        return p;
    }
    let fresh = std::fs::metadata(APT_UPDATED)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age < Duration::from_secs(3600)));
    if !fresh {
        apt_get(&apt, &["update"], help);
        File::create(APT_UPDATED).unwrap_or_else(|e| panic!("{APT_UPDATED}: {e}"));
    }
    apt_get(
        &apt,
        &["install", "-y", "--no-install-recommends", debian_pkg],
        help,
    );
    find_tool(cmd).unwrap_or_else(|| {
        panic!("{cmd} still not found after installing {debian_pkg}: run `{help}`")
    })
}

fn apt_get(apt: &Path, args: &[&str], help: &str) {
    eprintln!(
        "installing for the cluster tests: apt-get {}",
        args.join(" ")
    );
    let out = Command::new(apt)
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("apt-get {}: {e}; run `{help}`", args.join(" ")));
    assert!(
        out.status.success(),
        "apt-get {} failed ({}): {}{}\nrun `{help}`",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------------------------------------
// Processes
// ------------------------------------------------------------------------------------------------

fn signal(child: &Child, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: `pid` is our own child, not yet reaped (the caller holds its `Child`), so the id
    // cannot name another process.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Waits for `child` to exit; kills it if it is still there after `within`.
fn reap(child: &mut Child, within: Duration) {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Everything a process wrote to `log` so far (for failure messages).
fn log_text(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

// ------------------------------------------------------------------------------------------------
// Redis
// ------------------------------------------------------------------------------------------------

/// A reply of Redis, as far as the tests need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    /// `None` is the null bulk string.
    Bulk(Option<String>),
    Array(Vec<Reply>),
}

impl Reply {
    /// The reply as text: a string or integer as is, nil as "", an array's elements one a line.
    pub fn text(&self) -> String {
        match self {
            Reply::Simple(s) | Reply::Error(s) => s.clone(),
            Reply::Int(n) => n.to_string(),
            Reply::Bulk(b) => b.clone().unwrap_or_default(),
            Reply::Array(items) => items.iter().map(Reply::text).collect::<Vec<_>>().join("\n"),
        }
    }
}

fn read_reply(r: &mut impl BufRead) -> Result<Reply, String> {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(0) => return Err("connection closed".into()),
        Ok(_) => {}
        Err(e) => return Err(format!("read: {e}")),
    }
    let line = line.trim_end_matches(['\r', '\n']);
    let (kind, rest) = line.split_at_checked(1).ok_or("empty reply line")?;
    let number = || {
        rest.parse::<i64>()
            .map_err(|_| format!("bad length in {line:?}"))
    };
    Ok(match kind {
        "+" => Reply::Simple(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Int(number()?),
        "$" => match usize::try_from(number()?) {
            Err(_) => Reply::Bulk(None),
            Ok(len) => {
                let mut buf = vec![0u8; len + 2];
                r.read_exact(&mut buf).map_err(|e| format!("read: {e}"))?;
                buf.truncate(len);
                Reply::Bulk(Some(String::from_utf8_lossy(&buf).into_owned()))
            }
        },
        "*" => match usize::try_from(number()?) {
            Err(_) => Reply::Array(Vec::new()),
            Ok(n) => Reply::Array((0..n).map(|_| read_reply(r)).collect::<Result<_, _>>()?),
        },
        _ => return Err(format!("unknown reply {line:?}")),
    })
}

/// One command on a fresh connection to `port`, and its reply.
fn resp_command(port: u16, args: &[&str]) -> Result<Reply, String> {
    let mut s =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect {port}: {e}"))?;
    s.set_read_timeout(Some(START_TIMEOUT)).ok();
    let mut req = format!("*{}\r\n", args.len());
    for a in args {
        req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(req.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    read_reply(&mut BufReader::new(s))
}

/// A `redis-server` of the test's own: the shipped `redis.conf` with its port and directory
/// overridden, on a free loopback port, in a temporary directory removed on drop.
pub struct Redis {
    pub port: u16,
    pub dir: PathBuf,
    bin: PathBuf,
    child: Option<Child>,
}

impl Redis {
    /// A new Redis, answering PING when this returns.
    pub fn new() -> Redis {
        let mut redis = Redis {
            port: free_port(),
            dir: temp_dir("redis"),
            bin: ensure_tool("redis-server", "redis-server"),
            child: None,
        };
        redis.start();
        redis
    }

    /// `redis://127.0.0.1:PORT`, what `ringmcp serve --cluster` takes.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    /// Start it (again) on the same port and directory, so its AOF is loaded; returns once it
    /// answers PING (not LOADING).
    pub fn start(&mut self) {
        assert!(self.child.is_none(), "Redis is already running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("redis log");
        let child = Command::new(&self.bin)
            .arg(shipped("redis.conf"))
            .args(["--port", &self.port.to_string()])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--daemonize", "no", "--logfile", ""])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log fd"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", self.bin.display()));
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Reply::Simple(s)) = resp_command(self.port, &["PING"]) {
                if s == "PONG" {
                    return;
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                panic!("redis-server exited ({status}): {}", log_text(&self.log()));
            }
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not answer PING: {}",
                self.port,
                log_text(&self.log())
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (Redis flushes its AOF and exits), then wait for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(&child, libc::SIGTERM);
            reap(&mut child, START_TIMEOUT);
        }
    }

    /// SIGKILL: what a crash or an OOM kill leaves behind.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// One command and its reply (an error reply is a `Reply::Error`, not a panic).
    pub fn reply(&self, args: &[&str]) -> Reply {
        resp_command(self.port, args).unwrap_or_else(|e| panic!("redis {args:?}: {e}"))
    }

    /// One command and its reply as text (see [`Reply::text`]); an error reply fails the test.
    pub fn cmd(&self, args: &[&str]) -> String {
        match self.reply(args) {
            Reply::Error(e) => panic!("redis {args:?}: {e}"),
            r => r.text(),
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ------------------------------------------------------------------------------------------------
// HAProxy
// ------------------------------------------------------------------------------------------------

/// An `haproxy -db` of the test's own with the shipped `haproxy.cfg`: front on a free loopback
/// port, round robin over three nodes named `n1`, `n2`, `n3` (each response says which in
/// `X-Served-By`). Killed on drop.
pub struct Haproxy {
    pub port: u16,
    child: Child,
    /// Its stderr (server state changes such as "Server ringmcp/n2 is DOWN").
    lines: Receiver<String>,
    log: Vec<String>,
}

impl Haproxy {
    /// HAProxy in front of the nodes listening on these loopback ports; returns once its front
    /// port accepts.
    pub fn start(nodes: [u16; 3]) -> Haproxy {
        let bin = ensure_tool("haproxy", "haproxy");
        let port = free_port();
        let mut cmd = Command::new(&bin);
        cmd.arg("-db")
            .arg("-f")
            .arg(shipped("haproxy.cfg"))
            .env("RINGMCP_LB_BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (i, node) in nodes.iter().enumerate() {
            cmd.env(
                format!("RINGMCP_NODE{}", i + 1),
                format!("127.0.0.1:{node}"),
            );
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let lines = lines_of(child.stderr.take().expect("haproxy stderr"));
        let mut haproxy = Haproxy {
            port,
            child,
            lines,
            log: Vec::new(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = haproxy.child.try_wait() {
                // It ended, so its stderr ends: all of it is in the log now.
                std::thread::sleep(Duration::from_millis(50));
                panic!("haproxy exited ({status}): {}", haproxy.log().join("\n"));
            }
            assert!(
                Instant::now() < deadline,
                "haproxy did not listen on {port}: {}",
                haproxy.log().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        haproxy
    }

    /// The front's address.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// What HAProxy wrote to stderr so far (warnings, server state changes).
    pub fn log(&mut self) -> &[String] {
        self.log.extend(self.lines.try_iter());
        &self.log
    }

    /// HAProxy reported server `name` (`n1`, `n2`, `n3`) DOWN.
    pub fn saw_down(&mut self, name: &str) -> bool {
        let needle = format!("ringmcp/{name} is DOWN");
        self.log().iter().any(|l| l.contains(&needle))
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------------
// Nodes
// ------------------------------------------------------------------------------------------------

/// Three `ringmcp serve --http 127.0.0.1:0` nodes sharing the key ring [`RING`], each with
/// `extra` options.
pub fn three_nodes(extra: &[&str]) -> [Server; 3] {
    let mut args = vec!["--cluster-key", RING];
    args.extend_from_slice(extra);
    [(); 3].map(|()| Server::http(&args))
}

/// The HTTP ports of `nodes`, in HAProxy's order (`n1`, `n2`, `n3`).
pub fn ports(nodes: &[Server; 3]) -> [u16; 3] {
    nodes
        .each_ref()
        .map(|n| n.port.expect("an HTTP node has a port"))
}
