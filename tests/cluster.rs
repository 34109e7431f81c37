//! A cluster behind a load balancer (issue 12), with real HAProxy and Redis: three `ringmcp serve`
//! nodes sharing one key ring behind the shipped `tuning/cluster/haproxy.cfg` (round robin,
//! health checks on `/ready`) and a Redis of the shipped `redis.conf`. What the balancer and the
//! nodes' life cycle must give: an even spread, a dead node out of the rotation within a second, a
//! rolling restart that fails no request, per-client limits behind the proxy, a node id never
//! shared by two live nodes, clear refusals. Sessions are `cluster_sessions.rs`, what crosses
//! between nodes `cluster_bus.rs`. The kit (`common/cluster.rs`, `common/nodes.rs`) finds or
//! installs the tools: no test skips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster::*;
use common::http::*;
use common::nodes::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// Every page of a 2026-07-28 `tools/list` through `port`: the tool names, and which node served
/// each page.
fn all_tools(port: u16) -> (Vec<String>, Vec<String>) {
    let (mut names, mut nodes) = (Vec::new(), Vec::new());
    let mut cursor: Option<String> = None;
    for id in 1..=100 {
        let params = cursor.as_ref().map_or(json!({}), |c| json!({"cursor": c}));
        let r = modern_request(port, id, "tools/list", params).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.status, 200, "page {id}: {}", r.body_text());
        let body = r.json();
        let tools = body["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("page {id}: {body}"));
        names.extend(tools.iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        if let Some(n) = r.header("x-served-by") {
            nodes.push(n.to_owned());
        }
        match body["result"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return (names, nodes),
        }
    }
    panic!("tools/list did not end within 100 pages");
}

#[test]
fn three_nodes_behind_haproxy_round_robin() {
    let nodes = three_nodes(&["--page-size", "1"]);
    let mut lb = Haproxy::start(ports(&nodes));
    // Give the health checks (every 200 ms, two to fall) time to take out a node they refuse.
    std::thread::sleep(Duration::from_millis(800));

    // (a) Health checks pass: every node serves its share, round robin.
    let mut spread: BTreeMap<String, usize> = BTreeMap::new();
    let requests = 60;
    for id in 0..requests {
        let r = modern_request(lb.port, id, "tools/list", Value::Null).unwrap();
        assert_eq!(r.status, 200, "{}", r.body_text());
        *spread.entry(served_by(&r)).or_default() += 1;
    }
    eprintln!("spread over {requests} requests: {spread:?}");
    assert_eq!(
        spread.keys().map(String::as_str).collect::<Vec<_>>(),
        ["n1", "n2", "n3"],
        "every node is up and serves ({:?})",
        lb.log()
    );
    for (node, n) in &spread {
        assert!(
            n.abs_diff(requests as usize / 3) <= 2,
            "{node} served {n} of {requests}: {spread:?}"
        );
    }
    for n in ["n1", "n2", "n3"] {
        assert!(
            !lb.saw_down(n),
            "{n} failed its health check: {:?}",
            lb.log()
        );
    }

    // (b) A paginated 2026-07-28 list works although its pages land on different nodes: the
    // nodes share the key ring that seals the cursors.
    let (through_lb, served) = all_tools(lb.port);
    let (direct, _) = all_tools(nodes[0].port.unwrap());
    assert!(
        through_lb.len() >= 3,
        "one tool per page: several pages ({through_lb:?})"
    );
    assert_eq!(through_lb, direct, "the same list, page by page");
    let distinct: BTreeSet<&String> = served.iter().collect();
    assert!(
        distinct.len() >= 2,
        "consecutive pages went to different nodes: {served:?}"
    );
}

#[test]
fn a_killed_node_leaves_the_rotation_within_a_second() {
    let mut nodes = three_nodes(&[]);
    let mut lb = Haproxy::start(ports(&nodes));
    std::thread::sleep(Duration::from_millis(800));
    for id in 0..6 {
        let r = modern_request(lb.port, id, "tools/list", Value::Null).unwrap();
        assert_eq!(r.status, 200, "{}", r.body_text());
    }

    // kill -9 of n2.
    nodes[1].child.kill().unwrap();
    let killed = Instant::now();
    nodes[1].child.wait().unwrap();

    // Until 20 requests in a row succeed: when the run began (after the kill), when it ended,
    // and what failed before it.
    let (mut streak, mut run_began, mut failures) = (0, Duration::ZERO, Vec::new());
    let mut down_at = None;
    let mut id = 100;
    while streak < 20 && killed.elapsed() < Duration::from_secs(5) {
        id += 1;
        let sent = killed.elapsed();
        match modern_request(lb.port, id, "tools/list", Value::Null) {
            Ok(r) if r.status == 200 => {
                assert_ne!(served_by(&r), "n2", "a dead node cannot answer");
                if streak == 0 {
                    run_began = sent;
                }
                streak += 1;
            }
            Ok(r) => {
                failures.push(format!("{sent:?}: {} {}", r.status, r.body_text()));
                streak = 0;
            }
            Err(e) => {
                failures.push(format!("{sent:?}: {e}"));
                streak = 0;
            }
        }
        if down_at.is_none() && lb.saw_down("n2") {
            down_at = Some(killed.elapsed());
        }
    }
    let run_ended = killed.elapsed();
    assert_eq!(
        streak, 20,
        "no 20 successes in a row within 5 s: {failures:?}"
    );
    while down_at.is_none() && killed.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(10));
        if lb.saw_down("n2") {
            down_at = Some(killed.elapsed());
        }
    }
    eprintln!(
        "after kill -9 of n2: HAProxy marked it DOWN after {down_at:?}; 20 successes in a row \
         from {run_began:?} to {run_ended:?}; {} failed before: {failures:?}",
        failures.len()
    );
    let down_at = down_at.unwrap_or_else(|| panic!("HAProxy never marked n2 DOWN: {:?}", lb.log()));
    assert!(
        down_at <= Duration::from_secs(1),
        "the health checks take a dead node out within 1 s: {down_at:?}"
    );
    // No request was in flight on n2 when it died: none may fail (a refused connection is
    // redispatched, one the dying node accepted but never answered is retried).
    assert!(
        failures.is_empty(),
        "requests failed after the kill: {failures:?}"
    );
    assert!(
        run_began <= Duration::from_secs(1) && run_ended <= Duration::from_secs(2),
        "requests all succeed again within 1 s of the kill: from {run_began:?} to {run_ended:?}"
    );
    // Once out, the dead node gets nothing: the survivors share the load.
    let mut spread: BTreeMap<String, usize> = BTreeMap::new();
    for id in 200..230 {
        let r = modern_request(lb.port, id, "tools/list", Value::Null).unwrap();
        assert_eq!(r.status, 200, "{}", r.body_text());
        *spread.entry(served_by(&r)).or_default() += 1;
    }
    assert_eq!(
        spread.keys().map(String::as_str).collect::<Vec<_>>(),
        ["n1", "n3"],
        "{spread:?}"
    );
}

#[test]
fn redis_of_the_shipped_configuration() {
    let mut redis = Redis::new();
    assert_eq!(redis.cmd(&["PING"]), "PONG");
    assert_eq!(redis.cmd(&["DBSIZE"]), "0");
    assert_eq!(redis.cmd(&["SET", "ringmcp:test", "kept"]), "OK");
    assert_eq!(redis.cmd(&["DBSIZE"]), "1");
    assert_eq!(
        redis.cmd(&["CONFIG", "GET", "maxmemory-policy"]),
        "maxmemory-policy\nnoeviction",
        "sessions are never evicted to make room"
    );
    assert_eq!(
        redis.cmd(&["CONFIG", "GET", "appendfsync"]),
        "appendfsync\neverysec"
    );
    assert!(matches!(redis.reply(&["NOSUCHCOMMAND"]), Reply::Error(_)));
    // SIGTERM, then a start on the same port and directory: the AOF brings the key back.
    redis.stop();
    assert!(redis.pid().is_none());
    redis.start();
    assert_eq!(redis.cmd(&["GET", "ringmcp:test"]), "kept");
    assert_eq!(redis.cmd(&["GET", "ringmcp:none"]), "");
    redis.kill();
    assert!(std::net::TcpStream::connect(("127.0.0.1", redis.port)).is_err());
}

// ------------------------------------------------------------------------------------------------
// Cluster mode: legacy sessions in Redis
// ------------------------------------------------------------------------------------------------

/// A rolling restart: SIGTERM to n2 with `--drain-ms`, while clients keep using their legacy
/// sessions through HAProxy. n2 answers `/ready` with 503 at once, HAProxy moves the traffic to
/// n1 and n3 while n2 still serves, and n2 exits at the end of its drain: no request fails.
#[test]
fn a_rolling_restart_through_haproxy_fails_no_request() {
    let redis = Redis::new();
    let mut nodes = cluster_nodes(&redis, &["--drain-ms", "1500"]);
    let mut lb = Haproxy::start(ports(&nodes));
    std::thread::sleep(Duration::from_millis(800));
    let sids: Vec<String> = (0..6).map(|_| open_session(lb.port, V0618).0).collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = sids
        .into_iter()
        .enumerate()
        .map(|(k, sid)| {
            let (port, stop) = (lb.port, stop.clone());
            std::thread::spawn(move || {
                let (mut ok, mut failed, mut by) = (0, Vec::new(), BTreeMap::new());
                let mut id = 1000 * k as i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    id += 1;
                    match legacy(port, &sid, V0618, &rpc(id, "tools/list", json!({}))) {
                        Ok(r) if r.status == 200 => {
                            ok += 1;
                            *by.entry(served_by(&r)).or_insert(0) += 1;
                        }
                        Ok(r) => failed.push(format!("{} {}", r.status, r.body_text())),
                        Err(e) => failed.push(e),
                    }
                }
                (ok, failed, by)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let pid = nodes[1].child.id();
    signal_pid(pid, libc::SIGTERM);
    let exit = nodes[1].wait_exit(Duration::from_secs(8));
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed, mut by) = (0, Vec::new(), BTreeMap::new());
    for client in clients {
        let (o, f, b) = client.join().unwrap();
        ok += o;
        failed.extend(f);
        for (node, n) in b {
            *by.entry(node).or_insert(0) += n;
        }
    }
    eprintln!(
        "rolling restart: {ok} requests served {by:?}, {} failed",
        failed.len()
    );
    assert_eq!(exit, Some(0), "n2 stops cleanly at the end of its drain");
    assert!(
        lb.saw_down("n2"),
        "HAProxy took the draining node out: {:?}",
        lb.log()
    );
    assert!(
        failed.is_empty(),
        "requests failed during the restart: {failed:?}"
    );
    assert!(ok > 30, "the clients kept going: {ok}");
    assert!(by.len() == 3, "every node served before n2 left: {by:?}");
}

/// Behind HAProxy every connection comes from HAProxy's address: with `--trusted-proxy` a node
/// takes the client from `X-Forwarded-For` (the shipped configuration has `option forwardfor`),
/// so each client keeps its own rate-limit bucket instead of all sharing HAProxy's.
///
/// Nodes run on one core each, so a node holds one bucket per client, and every claim below is
/// made per node (`X-Served-By`): how HAProxy spreads the requests (all three nodes, or fewer
/// while a slow machine fails health checks) does not decide the outcome.
#[test]
fn per_client_limits_hold_behind_haproxy() {
    let nodes = three_nodes(&[
        "--cores",
        "1",
        "--trusted-proxy",
        "127.0.0.1",
        "--rate-limit-rps",
        "0.5",
        "--rate-limit-burst",
        "2",
    ]);
    let lb = Haproxy::start(ports(&nodes));
    std::thread::sleep(Duration::from_millis(800));
    let request = |from: [u8; 4], id: i64| -> (String, u16) {
        let mut c = HttpClient::connect_from(std::net::Ipv4Addr::from(from), lb.port);
        c.stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        c.send(
            "POST",
            "/mcp",
            &modern_headers("tools/list", None),
            &modern_body(id, "tools/list", json!({})),
        );
        let r = c.try_response().expect("an answer through HAProxy");
        (served_by(&r), r.status)
    };
    // Each client's statuses, node by node, in the order sent.
    let by_node = |answers: &[(String, u16)]| {
        let mut by: BTreeMap<String, Vec<u16>> = BTreeMap::new();
        for (node, status) in answers {
            by.entry(node.clone()).or_default().push(*status);
        }
        by
    };
    // Client A spends its bucket (burst 2) on every node it reaches.
    let a: Vec<_> = (0..12).map(|id| request([127, 0, 0, 2], id)).collect();
    let a = by_node(&a);
    let drained: BTreeSet<&String> = a
        .iter()
        .filter(|(_, s)| s.contains(&429))
        .map(|(n, _)| n)
        .collect();
    assert!(!drained.is_empty(), "client A is limited: {a:?}");
    for (node, statuses) in &a {
        let burst = &statuses[..statuses.len().min(2)];
        assert!(
            burst.iter().all(|&s| s == 200),
            "A's burst on {node}: {a:?}"
        );
    }
    // Client B, through the same HAProxy, has a full bucket of its own on every node, those
    // where A is over its limit included.
    let b: Vec<_> = (100..106).map(|id| request([127, 0, 0, 3], id)).collect();
    let b = by_node(&b);
    assert!(
        b.keys().any(|n| drained.contains(n)),
        "B reached a node where A was limited: A {a:?}, B {b:?}"
    );
    for (node, statuses) in &b {
        let burst = &statuses[..statuses.len().min(2)];
        assert!(
            burst.iter().all(|&s| s == 200),
            "client B is not limited by client A on {node}: A {a:?}, B {b:?}"
        );
    }
}

/// `ringmcp serve --http 127.0.0.1:0 <args>` expected to refuse to start: its exit status
/// (`None`: still running after `within`, then killed) and everything it wrote to stderr.
fn refused(args: &[&str], within: Duration) -> (Option<i32>, String, Duration) {
    let began = Instant::now();
    let mut child = std::process::Command::new(common::bin())
        .args(["serve", "--http", "127.0.0.1:0"])
        .args(args)
        .env_remove("RINGMCP_CLUSTER_KEY")
        .env_remove("RINGMCP_CLUSTER_KEY_FILE")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn ringmcp");
    let lines = common::lines_of(child.stderr.take().expect("stderr"));
    let mut status = None;
    while began.elapsed() < within {
        if let Ok(Some(s)) = child.try_wait() {
            status = s.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = began.elapsed();
    // Nothing to kill when it exited; a wait then returns the status it already reaped.
    let _ = child.kill();
    let _ = child.wait();
    let mut text = String::new();
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(2)) {
        text.push_str(&line);
        text.push('\n');
    }
    (status, text, took)
}

#[test]
fn a_node_id_is_not_shared_by_live_nodes() {
    let redis = Redis::new();
    let mut first = cluster_node(&redis, "n1", &[]);
    wait_ready(first.port.unwrap(), Duration::from_secs(10));
    let holder = redis.cmd(&["GET", "ringmcp:node:n1"]);
    assert!(!holder.is_empty(), "n1 holds its lease");

    let url = redis.url();
    let args = [
        "--cluster-key",
        RING,
        "--cluster",
        url.as_str(),
        "--node-id",
        "n1",
        "--cores",
        "1",
    ];
    let (status, stderr, took) = refused(&args, Duration::from_secs(15));
    eprintln!("a second n1 refused after {took:?}");
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("held by a live node"), "{stderr}");
    assert_eq!(
        redis.cmd(&["GET", "ringmcp:node:n1"]),
        holder,
        "the refused node left the lease alone"
    );

    // A clean stop gives the id back: the next n1 starts at once.
    let pid = libc::pid_t::try_from(first.child.id()).unwrap();
    // SAFETY: `first` still holds its child, not yet reaped, so the pid is ours.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    assert!(
        first.wait_exit(Duration::from_secs(10)).is_some(),
        "n1 stops on SIGTERM"
    );
    assert_eq!(
        redis.cmd(&["EXISTS", "ringmcp:node:n1"]),
        "0",
        "n1 gave its id back"
    );
    let began = Instant::now();
    let second = cluster_node(&redis, "n1", &[]);
    wait_ready(second.port.unwrap(), Duration::from_secs(10));
    let took = began.elapsed();
    eprintln!("the next n1 started in {took:?}");
    assert!(
        took < Duration::from_secs(2),
        "a released id is taken at once: {took:?}"
    );
}

#[test]
fn cluster_mode_needs_the_cluster_key() {
    let quick = Duration::from_secs(10);
    let (status, stderr, _) = refused(
        &["--cluster", "redis://127.0.0.1:6379", "--node-id", "n1"],
        quick,
    );
    assert!(status.is_some_and(|s| s != 0), "{status:?}: {stderr}");
    assert!(stderr.contains("cluster key"), "{stderr}");

    let (status, stderr, _) = refused(
        &[
            "--cluster-key",
            RING,
            "--cluster",
            "rediss://127.0.0.1:6380",
            "--node-id",
            "n1",
        ],
        quick,
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("TLS"), "{stderr}");
    assert!(stderr.contains("not supported yet"), "{stderr}");

    let closed = free_port();
    let url = format!("redis://127.0.0.1:{closed}");
    let (status, stderr, _) = refused(
        &["--cluster-key", RING, "--cluster", &url, "--node-id", "n1"],
        quick,
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stderr.contains("cannot use Redis"), "{stderr}");
}
