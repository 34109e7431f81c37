//! Cluster mode with real HAProxy and Redis (issue 12): three `ringmcp serve` nodes sharing one key
//! ring behind the shipped `tuning/cluster/haproxy.cfg` (round robin, health checks on `/ready`),
//! and a Redis of the shipped `redis.conf`. These tests need the kit of `common/cluster.rs`: the
//! tools are found or installed, never skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster::*;
use common::http::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A 2026-07-28 request through `port` on a fresh connection (HAProxy balances each request, and
/// a fresh connection keeps one request from riding on another's): its response.
fn modern_request(port: u16, id: i64, method: &str, params: Value) -> Result<HttpResponse, String> {
    let mut c = HttpClient::connect(port);
    c.stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    c.send(
        "POST",
        "/mcp",
        &modern_headers(method, None),
        &modern_body(id, method, params),
    );
    c.try_response()
}

fn served_by(r: &HttpResponse) -> String {
    r.header("x-served-by")
        .unwrap_or_else(|| panic!("no X-Served-By in {:?}", r.headers))
        .to_owned()
}

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
