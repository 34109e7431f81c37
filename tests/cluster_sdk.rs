//! The official SDK clients against a cluster (issue 12): Redis, three `ringmcp serve --cluster`
//! nodes (one core each, one key ring, the demo set with two items a page so that every list
//! takes several pages) and the shipped HAProxy configuration in front, round robin without
//! stickiness. The clients dial HAProxy only:
//! - the Python SDK (`mcp` 2.3.0, `tests/python/cluster_flows.py`) in legacy mode (2025-11-25
//!   sessions kept in Redis) and in 2026-07-28 mode (stateless, sealed cursors and
//!   `requestState`);
//! - the TypeScript SDK (`tests/node/sdk_client.mjs`), 2025-11-25 sessions.
//!
//! Each client records which node served each response (`X-Served-By`) and fails unless every
//! node served and consecutive requests moved between nodes; this file checks the same from the
//! nodes' side, by their `/metrics` request counters. The packages are installed by the suites'
//! own `run.sh` (a venv, `npm ci`), as `python_sdk.rs` and `node_clients.rs` do. The flows
//! include what one node must hand to another: a legacy `elicitation/create` or `roots/list`
//! leaves on the stream of the node running the `tools/call` while the client's answer lands on
//! another, and `notifications/resources/updated` or `subscriptions/listen` events must reach
//! streams held by nodes other than the one where the resource changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster::{ports, temp_dir, Haproxy, Redis, RING};
use common::http::{legacy_headers, HttpClient, HttpResponse, ACCEPT, JSON};
use common::Server;
use ringmcp_testkit::msg;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const NODE_IDS: [&str; 3] = ["n1", "n2", "n3"];
/// Bound on one client program, installing its packages included (a first install downloads
/// them; later runs take seconds).
const CLIENT_LIMIT: Duration = Duration::from_secs(240);
/// How long the nodes and HAProxy get to be up and balancing.
const UP_WITHIN: Duration = Duration::from_secs(10);

/// One installer of a suite at a time in this process: two at once would build the same venv or
/// `node_modules` on top of each other.
static PYTHON: Mutex<()> = Mutex::new(());
static NODE: Mutex<()> = Mutex::new(());

/// Redis, three nodes and HAProxy; dropped in that field order: HAProxy, the nodes, Redis.
struct Cluster {
    lb: Haproxy,
    nodes: [Server; 3],
    _redis: Redis,
}

impl Cluster {
    fn start(extra: &[&str]) -> Cluster {
        let redis = Redis::new();
        let url = redis.url();
        let nodes = NODE_IDS.map(|id| {
            let mut args = vec![
                "--cores",
                "1",
                "--cluster",
                &url,
                "--node-id",
                id,
                "--cluster-key",
                RING,
                "--page-size",
                "2",
            ];
            args.extend_from_slice(extra);
            Server::http(&args)
        });
        let lb = Haproxy::start(ports(&nodes));
        let mut cluster = Cluster {
            lb,
            nodes,
            _redis: redis,
        };
        cluster.wait_up();
        cluster
    }

    fn node_ports(&self) -> [u16; 3] {
        ports(&self.nodes)
    }

    /// Every node ready (its Redis link up), and HAProxy sending requests to all three.
    fn wait_up(&mut self) {
        let deadline = Instant::now() + UP_WITHIN;
        for port in self.node_ports() {
            while get(port, "/ready").status != 200 {
                assert!(Instant::now() < deadline, "node on {port} never ready");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let mut seen = BTreeSet::new();
        while seen.len() < 3 {
            assert!(
                Instant::now() < deadline,
                "HAProxy sent requests only to {seen:?}: {:?}",
                self.lb.log()
            );
            if let Some(node) = get(self.lb.port, "/ready").header("x-served-by") {
                seen.insert(node.to_owned());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn mcp_url(&self) -> String {
        format!("http://{}/mcp", self.lb.addr())
    }

    /// JSON-RPC requests each node has answered so far (`ringmcp_requests_total`, all methods
    /// and outcomes).
    fn requests_answered(&self) -> [u64; 3] {
        self.node_ports().map(|port| {
            let r = get(port, "/metrics");
            assert_eq!(r.status, 200, "{}", r.body_text());
            String::from_utf8_lossy(&r.body)
                .lines()
                .filter(|l| l.starts_with("ringmcp_requests_total{"))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .sum()
        })
    }

    /// Every node answered a fair share of the requests made since `before`.
    fn assert_spread(&self, before: [u64; 3], what: &str) {
        let after = self.requests_answered();
        let served: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
        let total: u64 = served.iter().sum();
        eprintln!("{what}: JSON-RPC requests answered by n1, n2, n3: {served:?} of {total}");
        assert!(total >= 12, "{what}: only {total} requests");
        for (id, n) in NODE_IDS.iter().zip(&served) {
            // Round robin gives each about a third; a sixth leaves room for the requests that
            // ride long streams or come in bursts of one client.
            assert!(
                n * 6 >= total,
                "{what}: {id} answered {n} of {total} requests ({served:?})"
            );
        }
    }
}

/// A GET on a fresh connection.
fn get(port: u16, path: &str) -> HttpResponse {
    let mut c = HttpClient::connect(port);
    c.send("GET", path, &[], b"");
    c.read_response()
}

fn repo_file(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `bash <script> <args>` with the server binary in `RINGMCP_BIN`, its output going to the
/// test's; an error unless it exits 0 within [`CLIENT_LIMIT`].
fn run_client(what: &str, script: &str, args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let mut child = Command::new("bash")
        .arg(repo_file(script))
        .args(args)
        .env("RINGMCP_BIN", env!("CARGO_BIN_EXE_ringmcp"))
        .envs(env.iter().copied())
        .spawn()
        .unwrap_or_else(|e| panic!("could not run {script}: {e}"));
    let deadline = Instant::now() + CLIENT_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the client") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} did not finish within {CLIENT_LIMIT:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status}); see its output above"))
    }
}

fn python_flows(c: &Cluster) -> Result<(), String> {
    let _one = PYTHON.lock().unwrap_or_else(|e| e.into_inner());
    let url = c.mcp_url();
    let script = repo_file("tests/python/cluster_flows.py");
    let mut args = vec!["--script", script.as_str()];
    args.extend([url.as_str(), "legacy", "2026-07-28"]);
    run_client("the Python SDK flows", "tests/python/run.sh", &args, &[])
}

fn typescript_flow(c: &Cluster) -> Result<(), String> {
    let _one = NODE.lock().unwrap_or_else(|e| e.into_inner());
    let url = c.mcp_url();
    let script = repo_file("tests/node/sdk_client.mjs");
    run_client(
        "the TypeScript SDK flow",
        "tests/node/run.sh",
        &["--run", &script, &url],
        &[
            ("SDK_CLIENT_NODES", &NODE_IDS.join(" ")),
            ("NODE_CLIENTS_TIMEOUT_SECS", "60"),
        ],
    )
}

#[test]
fn python_sdk_legacy_and_2026_07_28_through_round_robin() {
    let c = Cluster::start(&[]);
    let before = c.requests_answered();
    python_flows(&c).unwrap_or_else(|e| panic!("{e}"));
    c.assert_spread(before, "Python SDK");
}

#[test]
fn typescript_sdk_through_round_robin() {
    let c = Cluster::start(&[]);
    let before = c.requests_answered();
    typescript_flow(&c).unwrap_or_else(|e| panic!("{e}"));
    c.assert_spread(before, "TypeScript SDK");
}

/// Static bearer tokens of two principals, in a file removed on drop.
struct Tokens {
    dir: PathBuf,
}

impl Tokens {
    const ALICE: &'static str = "token-of-alice";
    const MALLORY: &'static str = "token-of-mallory";

    fn new() -> Tokens {
        let dir = temp_dir("tokens");
        let tokens = format!("{} alice\n{} mallory\n", Self::ALICE, Self::MALLORY);
        std::fs::write(dir.join("tokens"), tokens).unwrap();
        Tokens { dir }
    }

    fn file(&self) -> String {
        self.dir.join("tokens").display().to_string()
    }
}

impl Drop for Tokens {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A request on a fresh connection to `port` (a node, or HAProxy), as `bearer`, in session `sid`.
fn as_principal(
    port: u16,
    method: &str,
    bearer: Option<&str>,
    sid: Option<&str>,
    body: &[u8],
) -> HttpResponse {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = match sid {
        Some(sid) => legacy_headers(sid, "2025-11-25"),
        None => vec![JSON, ACCEPT],
    };
    if method == "GET" {
        headers = vec![("Accept", "text/event-stream")];
        headers.extend(sid.map(|s| ("Mcp-Session-Id", s)));
    }
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    let mut c = HttpClient::connect(port);
    c.send(method, "/mcp", &headers, body);
    if method == "GET" {
        // A GET that is admitted opens a stream that never ends: the head is the answer.
        let (status, headers) = c.read_head();
        return HttpResponse {
            status,
            headers,
            body: Vec::new(),
        };
    }
    c.read_response()
}

#[test]
fn another_principals_session_is_refused_everywhere() {
    let tokens = Tokens::new();
    let file = tokens.file();
    let c = Cluster::start(&["--auth-tokens-file", &file]);
    let (lb, nodes) = (c.lb.port, c.node_ports());
    let alice = Some(Tokens::ALICE);
    let mallory = Some(Tokens::MALLORY);
    let ping = msg::request(2, "ping").text();
    let ping = ping.as_bytes();

    // Alice opens a session through HAProxy: its record is in Redis, bound to her.
    let init = msg::initialize(1, "2025-11-25").text();
    let r = as_principal(lb, "POST", alice, None, init.as_bytes());
    assert_eq!(r.status, 200, "{}", r.body_text());
    let sid = r.header("mcp-session-id").expect("a session id").to_owned();
    let sid = Some(sid.as_str());
    let initialized = msg::initialized().text();
    let r = as_principal(lb, "POST", alice, sid, initialized.as_bytes());
    assert_eq!(r.status, 202, "{}", r.body_text());

    // Mallory holding Alice's session id gets 404 from every node, for every method, whether
    // the node holds a copy of the session or loads it from Redis for him; no token is 401.
    for port in nodes {
        for round in 0..2 {
            let r = as_principal(port, "POST", mallory, sid, ping);
            assert_eq!(
                r.status,
                404,
                "node {port} round {round}: {}",
                r.body_text()
            );
            assert_eq!(
                as_principal(port, "GET", mallory, sid, b"").status,
                404,
                "GET on node {port}"
            );
            assert_eq!(
                as_principal(port, "DELETE", mallory, sid, b"").status,
                404,
                "DELETE on node {port}"
            );
            assert_eq!(as_principal(port, "POST", None, sid, ping).status, 401);
            // ... and Alice goes on using it there.
            let r = as_principal(port, "POST", alice, sid, ping);
            assert_eq!(r.status, 200, "node {port}: {}", r.body_text());
        }
    }

    // Through HAProxy, round robin: Alice everywhere, Mallory nowhere.
    let mut served = BTreeSet::new();
    for _ in 0..6 {
        assert_eq!(as_principal(lb, "POST", mallory, sid, ping).status, 404);
        let r = as_principal(lb, "POST", alice, sid, ping);
        assert_eq!(r.status, 200, "{}", r.body_text());
        served.extend(r.header("x-served-by").map(str::to_owned));
    }
    assert_eq!(served.len(), 3, "Alice's requests went to {served:?}");

    // Mallory's DELETEs did not end it; Alice's does, on every node.
    let r = as_principal(lb, "DELETE", alice, sid, b"");
    assert_eq!(r.status, 204, "{}", r.body_text());
    for port in nodes {
        assert_eq!(as_principal(port, "POST", alice, sid, ping).status, 404);
    }
}
