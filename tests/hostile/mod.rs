//! The runner of the hostile-input matrix, shared by `hostile_tcp`, `hostile_http` and
//! `hostile_stdio` (each a test binary with `harness = false` whose `main` calls [`main`]): the
//! case table type, the servers the cases attack, the per-case bystander, the check that a
//! matrix cannot silently shrink, and the resident-memory check. It owns no case body and no
//! client protocol code (those are in the transport's file and in `tests/common`).
//!
//! Every case is a trial of its own (libtest-mimic), so it runs alone by name
//! (`cargo test -p ringmcp --test hostile_tcp -- tcp/malformed-json`) and in parallel with the
//! others. The shared servers are started on first use and killed when `main` returns, after all
//! trials; a case that must observe server-wide state (metrics) gets a server of its own.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use crate::common::{text_of, Client, Server};
use crate::http_client::{legacy_headers, modern_body, modern_headers, HttpClient};
use libtest_mimic::{Arguments, Trial};
use serde_json::{json, Value};
use std::net::Ipv4Addr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

// Limits the matrix servers run with (small, so that the cases are fast).
pub const TCP_MAX_MESSAGE: usize = 256 * 1024;
pub const TCP_MAX_INFLIGHT: usize = 4;
pub const MAX_QUEUED: usize = 1 << 20;
/// `--write-stall-timeout-secs`: a peer that reads nothing is dropped after this.
pub const WRITE_STALL_SECS: u64 = 2;
pub const HTTP_MAX_BODY: usize = 64 * 1024;
pub const HTTP_MAX_HEADERS: usize = 16;
pub const HTTP_MAX_HEAD: usize = 4096;
pub const HTTP_REQUEST_TIMEOUT_MS: u64 = 500;
/// How long a case waits to be sure nothing comes.
pub const QUIET: Duration = Duration::from_millis(300);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Transport {
    Tcp,
    Http,
    Stdio,
}

impl Transport {
    fn prefix(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp/",
            Transport::Http => "http/",
            Transport::Stdio => "stdio/",
        }
    }
}

/// Which server a case attacks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    /// The transport's shared server with small size/inflight/queue/timeout limits.
    Main,
    /// The transport's shared server started with a rate limit.
    RateLimited,
    /// A server of the case's own: stdio cases start theirs; a TCP or HTTP case gets one with
    /// the main server's limits (and, on TCP, an HTTP listener for `/metrics`), for assertions
    /// on server-wide state that parallel cases would disturb.
    Own,
}

#[derive(Clone, Copy)]
pub struct Case {
    pub name: &'static str,
    pub target: Target,
    pub run: fn(&Env),
}

macro_rules! case {
    ($name:literal, $target:ident, $run:expr) => {
        $crate::hostile::Case {
            name: $name,
            target: $crate::hostile::Target::$target,
            run: $run,
        }
    };
}

// ------------------------------------------------------------------------------------------------
// Servers
// ------------------------------------------------------------------------------------------------

/// A running server that cases on several threads share; killed when dropped.
pub struct Live {
    port: u16,
    metrics_port: Option<u16>,
    server: Mutex<Server>,
}

fn main_flags(transport: Transport) -> Vec<String> {
    let flags: Vec<String> = match transport {
        Transport::Tcp => vec![
            "--max-message-bytes".into(),
            TCP_MAX_MESSAGE.to_string(),
            "--max-inflight".into(),
            TCP_MAX_INFLIGHT.to_string(),
        ],
        Transport::Http => vec![
            "--max-message-bytes".into(),
            HTTP_MAX_BODY.to_string(),
            "--max-headers".into(),
            HTTP_MAX_HEADERS.to_string(),
            "--max-header-bytes".into(),
            HTTP_MAX_HEAD.to_string(),
            "--http-request-timeout-ms".into(),
            HTTP_REQUEST_TIMEOUT_MS.to_string(),
        ],
        Transport::Stdio => Vec::new(),
    };
    let mut all = vec!["--cores".into(), "1".into()];
    all.extend(flags);
    all.extend(["--max-queued-bytes".into(), MAX_QUEUED.to_string()]);
    all.extend([
        "--write-stall-timeout-secs".into(),
        WRITE_STALL_SECS.to_string(),
    ]);
    all
}

impl Live {
    fn start(transport: Transport, target: Target) -> Live {
        let flags = match target {
            Target::Main | Target::Own => main_flags(transport),
            Target::RateLimited => {
                let (rps, burst) = match transport {
                    Transport::Tcp => ("2", "3"),
                    _ => ("1", "2"),
                };
                [
                    "--cores",
                    "1",
                    "--rate-limit-rps",
                    rps,
                    "--rate-limit-burst",
                    burst,
                ]
                .map(String::from)
                .to_vec()
            }
        };
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        let (server, metrics_port) = match (transport, target) {
            (Transport::Tcp, Target::Own) => {
                let (server, ports) = Server::listening_on(
                    &["serve", "--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0"],
                    &flags,
                    &["tcp://127.0.0.1:", "http://127.0.0.1:"],
                );
                (server, ports.get(1).copied())
            }
            (Transport::Tcp, _) => (Server::tcp(&flags), None),
            (Transport::Http, _) => {
                let s = Server::http(&flags);
                let port = s.port;
                (s, port)
            }
            (Transport::Stdio, _) => unreachable!("stdio cases start their own servers"),
        };
        Live {
            port: server.port.expect("port"),
            metrics_port,
            server: Mutex::new(server),
        }
    }

    fn server(&self) -> MutexGuard<'_, Server> {
        self.server.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn rss_kib(&self) -> u64 {
        self.server().rss_kib()
    }

    /// Why the server is not running any more, if it is not.
    fn exited(&self) -> Option<String> {
        match self.server().child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }
}

/// The shared servers of one test binary, each started by the first case that needs it.
struct Shared {
    transport: Transport,
    main: OnceLock<Live>,
    rate: OnceLock<Live>,
}

impl Shared {
    fn get(&self, target: Target) -> &Live {
        let slot = match target {
            Target::Main => &self.main,
            Target::RateLimited => &self.rate,
            Target::Own => unreachable!("a case's own server is not shared"),
        };
        slot.get_or_init(|| Live::start(self.transport, target))
    }
}

/// What a case attacks: a server's ports and log (none for stdio cases, which start their own).
pub struct Env<'a> {
    live: Option<&'a Live>,
}

impl Env<'_> {
    fn live(&self) -> &Live {
        self.live.expect("this case has no server")
    }

    /// The port of the server the case attacks.
    pub fn port(&self) -> u16 {
        self.live().port
    }

    /// The HTTP port serving `/metrics` (the case's own server only: on a shared one, other
    /// cases move every series).
    pub fn metrics_port(&self) -> u16 {
        self.live().metrics_port.expect("a server with /metrics")
    }

    /// Wait for a log line of the server containing `needle`.
    pub fn wait_log(&self, needle: &str, within: Duration) -> Option<String> {
        let server = self.live().server();
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match server.stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The bystander
// ------------------------------------------------------------------------------------------------

/// A client of the attacked server, connected (and, on HTTP, holding a legacy session) before
/// the case's attack, that must still be served correctly after it.
enum Bystander {
    Tcp(Client),
    Http {
        conn: HttpClient,
        session: Option<String>,
    },
}

impl Bystander {
    fn open(transport: Transport, live: &Live, target: Target) -> Bystander {
        match transport {
            Transport::Tcp => {
                let mut c = live.server().connect();
                c.initialize("2025-11-25");
                Bystander::Tcp(c)
            }
            Transport::Http => {
                // The rate-limited server counts per client address: its bystander comes from
                // another loopback address than the case, and holds no session (its
                // handshake would spend the bucket).
                let (from, legacy) = match target {
                    Target::RateLimited => (Ipv4Addr::new(127, 0, 0, 2), false),
                    _ => (Ipv4Addr::LOCALHOST, true),
                };
                let mut conn = HttpClient::connect_from(from, live.port);
                let session = legacy.then(|| conn.initialize_legacy("2025-11-25"));
                Bystander::Http { conn, session }
            }
            Transport::Stdio => unreachable!("stdio cases have no shared server"),
        }
    }

    /// A `tools/call echo` answered correctly, and nothing else on the connection.
    fn check(&mut self, n: i64) {
        let text = format!("bystander {n}");
        match self {
            Bystander::Tcp(c) => {
                let r = c.call(
                    1000 + n,
                    "tools/call",
                    json!({"name": "echo", "arguments": {"text": text}}),
                );
                assert_eq!(text_of(&r), text, "{r}");
                assert!(
                    c.pending.is_empty(),
                    "messages for someone else reached the bystander: {:?}",
                    c.pending
                );
            }
            Bystander::Http { conn, session } => {
                let r = conn.post(
                    &modern_headers("tools/call", Some("echo")),
                    &modern_body(
                        1000 + n,
                        "tools/call",
                        json!({"name": "echo", "arguments": {"text": text}}),
                    ),
                );
                assert_eq!(r.status, 200, "{}", r.body_text());
                assert_eq!(r.json()["id"], 1000 + n);
                assert_eq!(r.json()["result"]["content"][0]["text"], text);
                if let Some(sid) = session.clone() {
                    let body = json!({"jsonrpc": "2.0", "id": 5000 + n, "method": "tools/call",
                        "params": {"name": "echo", "arguments": {"text": text}}});
                    let r = conn.post(
                        &legacy_headers(&sid, "2025-11-25"),
                        body.to_string().as_bytes(),
                    );
                    assert_eq!(r.status, 200, "{}", r.body_text());
                    assert_eq!(r.json()["result"]["content"][0]["text"], text);
                }
            }
        }
    }
}

impl Bystander {
    /// Ends the bystander's legacy session, so that one per case does not pile up on the server.
    fn close(self) {
        if let Bystander::Http {
            mut conn,
            session: Some(sid),
        } = self
        {
            conn.send("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"");
            let r = conn.read_response();
            assert_eq!(
                r.status,
                204,
                "DELETE of the bystander's session: {}",
                r.body_text()
            );
        }
    }
}

pub fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".into())
}

/// One case against `live` (None for stdio), between two checks of a bystander of its own.
fn run_case(case: &Case, transport: Transport, live: Option<&Live>) {
    let Some(live) = live else {
        (case.run)(&Env { live: None });
        return;
    };
    let mut bystander = Bystander::open(transport, live, case.target);
    bystander.check(0);
    (case.run)(&Env { live: Some(live) });
    if let Err(p) = catch_unwind(AssertUnwindSafe(|| bystander.check(1))) {
        panic!(
            "the bystander on the {:?} server was not served after the case: {}",
            case.target,
            panic_text(p)
        );
    }
    bystander.close();
}

// ------------------------------------------------------------------------------------------------
// The harness
// ------------------------------------------------------------------------------------------------

/// The test binary of one transport: one trial per case, the check that the matrix did not
/// shrink (`min_cases`), and the resident-memory check over the cases named in `memory`.
pub fn main(
    transport: Transport,
    cases: Vec<Case>,
    min_cases: usize,
    memory: &'static [&'static str],
) -> ExitCode {
    let args = Arguments::from_args();
    let shared = Arc::new(Shared {
        transport,
        main: OnceLock::new(),
        rate: OnceLock::new(),
    });
    let mut trials = Vec::with_capacity(cases.len() + 2);
    {
        let cases = cases.clone();
        trials.push(Trial::test(
            "matrix_is_big_enough_and_names_are_unique",
            move || {
                check_matrix(transport, &cases, min_cases);
                Ok(())
            },
        ));
    }
    if transport != Transport::Stdio {
        let cases = cases.clone();
        trials.push(Trial::test("rss_bounded_after_memory_cases", move || {
            rss_after(transport, &cases, memory);
            Ok(())
        }));
    }
    for case in cases {
        let shared = Arc::clone(&shared);
        trials.push(Trial::test(case.name, move || {
            match (transport, case.target) {
                (Transport::Stdio, _) => run_case(&case, transport, None),
                (_, Target::Own) => {
                    let own = Live::start(transport, Target::Own);
                    run_case(&case, transport, Some(&own));
                }
                (_, target) => run_case(&case, transport, Some(shared.get(target))),
            }
            Ok(())
        }));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // Every trial is done: the shared servers must have lived through all of them.
    let mut failed = conclusion.has_failed();
    for (name, slot) in [("main", &shared.main), ("rate-limited", &shared.rate)] {
        if let Some(exited) = slot.get().and_then(Live::exited) {
            eprintln!("the {name} {transport:?} server exited during the matrix: {exited}");
            failed = true;
        }
    }
    // Killed here, not left to the process exit (a static would never be dropped).
    drop(shared);
    if failed {
        ExitCode::from(101)
    } else {
        ExitCode::SUCCESS
    }
}

fn check_matrix(transport: Transport, cases: &[Case], min_cases: usize) {
    assert!(
        cases.len() >= min_cases,
        "only {} {transport:?} cases, the matrix had {min_cases}",
        cases.len()
    );
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    for c in cases {
        assert!(
            c.name.starts_with(transport.prefix()),
            "{} runs on {transport:?}",
            c.name
        );
        if transport == Transport::Stdio {
            assert_eq!(
                c.target,
                Target::Own,
                "{} needs a server of its own",
                c.name
            );
        }
    }
}

/// A server of its own through the memory-relevant cases, one after another (each with its
/// bystander), then its resident memory must not have ballooned. Parallel cases on the shared
/// servers cannot be measured one by one, so this is the one place memory is checked.
fn rss_after(transport: Transport, cases: &[Case], memory: &[&str]) {
    let run: Vec<&Case> = memory
        .iter()
        .map(|name| {
            cases
                .iter()
                .find(|c| c.name == *name)
                .unwrap_or_else(|| panic!("the memory check names {name}, which is no case"))
        })
        .collect();
    let live = Live::start(transport, Target::Own);
    // Warm: the first connection and handshake allocate what every later one reuses.
    let mut warm = Bystander::open(transport, &live, Target::Own);
    warm.check(0);
    warm.close();
    let before = live.rss_kib();
    let started = Instant::now();
    for case in &run {
        assert!(
            case.target != Target::RateLimited,
            "{}: the memory check runs the main server's cases",
            case.name
        );
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| {
            run_case(case, transport, Some(&live));
        })) {
            panic!("{}: {}", case.name, panic_text(p));
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(live.exited(), None, "the server exited");
    let after = live.rss_kib();
    eprintln!(
        "{} {transport:?} cases in {:?}; server RSS {before} KiB before, {after} KiB after",
        run.len(),
        started.elapsed()
    );
    assert!(
        after <= 2 * before + 32 * 1024,
        "RSS grew from {before} KiB to {after} KiB"
    );
}

// ------------------------------------------------------------------------------------------------
// Assertions the transports share
// ------------------------------------------------------------------------------------------------

/// A JSON-RPC 2.0 error response with this id and code.
pub fn assert_error(msg: &Value, id: &Value, code: i64) {
    assert_eq!(msg["jsonrpc"], "2.0", "{msg}");
    assert_eq!(&msg["id"], id, "wrong id in {msg}");
    assert_eq!(
        msg["error"]["code"].as_i64(),
        Some(code),
        "expected error {code}, got {msg}"
    );
    assert!(msg["error"]["message"].is_string(), "{msg}");
    assert!(msg.get("result").is_none(), "{msg}");
}

/// One scrape of `/metrics`: each unlabelled-shard series (`name{shard="0"} value`) by name,
/// and the request counters as their whole lines.
pub struct Metrics {
    text: String,
}

impl Metrics {
    /// The bytes of one scrape request, which the server counts as received.
    pub const REQUEST: &'static [u8] =
        b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";

    pub fn scrape(port: u16) -> Metrics {
        let mut c = HttpClient::connect(port);
        c.send_raw(Self::REQUEST);
        let r = c.read_response();
        assert_eq!(r.status, 200, "{}", r.body_text());
        Metrics {
            text: String::from_utf8_lossy(&r.body).into_owned(),
        }
    }

    /// The sum over shards of a series.
    pub fn value(&self, name: &str) -> u64 {
        let prefix = format!("{name}{{");
        self.text
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// The `ringmcp_requests_total` lines (one per method and outcome).
    pub fn requests(&self) -> Vec<&str> {
        self.text
            .lines()
            .filter(|l| l.starts_with("ringmcp_requests_total{"))
            .collect()
    }
}

/// Scrape until `ok` holds, up to `within`; the last scrape either way.
pub fn metrics_until(
    port: u16,
    within: Duration,
    ok: impl Fn(&Metrics) -> bool,
) -> (Metrics, bool) {
    let deadline = Instant::now() + within;
    loop {
        let m = Metrics::scrape(port);
        if ok(&m) {
            return (m, true);
        }
        if Instant::now() >= deadline {
            return (m, false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
