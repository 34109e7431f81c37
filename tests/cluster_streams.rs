//! Legacy GET streams across nodes: each resource update is stored once in the cluster's log, so a
//! client whose stream died with its node resumes with `Last-Event-ID` on another and gets every
//! update it missed exactly once, and never one of another stream; a node whose Redis connection
//! dropped reads what it missed from the log; a Redis restart changes none of it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cluster::*;
use common::http::*;
use common::nodes::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `tools/call bump` in session `sid` through `port`: `demo://counter` changes once.
fn bump(port: u16, sid: &str, id: i64) {
    let r = legacy(
        port,
        sid,
        V1125,
        &rpc(id, "tools/call", json!({"name": "bump", "arguments": {}})),
    )
    .unwrap_or_else(|e| panic!("bump {id}: {e}"));
    result_of(&r, id);
}

/// Session `sid` subscribes to `demo://counter` through `port`.
fn subscribe(port: u16, sid: &str) {
    let r = legacy(
        port,
        sid,
        V1125,
        &rpc(2, "resources/subscribe", json!({"uri": "demo://counter"})),
    )
    .unwrap();
    result_of(&r, 2);
}

/// Session `sid`'s GET stream through `port`, from `last` on: the client, and who serves it
/// (`X-Served-By` behind HAProxy).
fn get_stream(port: u16, sid: &str, last: Option<&str>) -> (HttpClient, Option<String>) {
    let mut c = HttpClient::connect(port);
    let mut headers = vec![
        ("Accept", "text/event-stream"),
        ("Mcp-Session-Id", sid),
        ("MCP-Protocol-Version", V1125),
    ];
    if let Some(last) = last {
        headers.push(("Last-Event-ID", last));
    }
    c.send("GET", "/mcp", &headers, b"");
    let (status, head) = c.read_head();
    assert_eq!(status, 200, "GET stream: {head:?}");
    let by = head
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-served-by"))
        .map(|(_, v)| v.clone());
    (c, by)
}

/// The next `n` events of `stream`, each a resource update: their ids.
fn updates(stream: &mut HttpClient, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let ev = stream
                .next_event()
                .unwrap_or_else(|| panic!("update {} of {n} did not arrive", i + 1));
            let msg: Value = serde_json::from_str(&ev.data).unwrap();
            assert_eq!(msg["method"], "notifications/resources/updated", "{msg}");
            assert_eq!(msg["params"]["uri"], "demo://counter", "{msg}");
            ev.id.expect("an update has an event id")
        })
        .collect()
}

/// Nothing more arrives on `stream` within `wait`.
fn nothing_more(stream: &mut HttpClient, wait: Duration) {
    stream.stream.set_read_timeout(Some(wait)).ok();
    if let Ok(Some(ev)) = stream.try_next_event() {
        panic!(
            "one event too many: {} {}",
            ev.id.unwrap_or_default(),
            ev.data
        );
    }
    stream
        .stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok();
}

/// The ids are distinct and in order (the log's order, as each stream writes them).
fn distinct(ids: &[String]) {
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        assert!(seen.insert(id), "event {id} came twice: {ids:?}");
    }
}

/// kill -9 of the node holding a GET stream: the client resumes through HAProxy with the last
/// id it saw, lands on another node, and gets the updates made meanwhile exactly once, then the
/// new ones live. Another session's event id replays nothing of this stream.
#[test]
fn a_stream_resumes_on_another_node_after_its_node_is_killed() {
    let redis = Redis::new();
    let mut nodes = cluster_nodes(&redis, &[]);
    let lb = Haproxy::start(ports(&nodes));
    let front = lb.port;
    let (sid, _) = open_session(front, V1125);
    subscribe(front, &sid);
    let (other, _) = open_session(front, V1125);
    subscribe(front, &other);

    let (mut stream, by) = get_stream(front, &sid, None);
    let holder = by.expect("HAProxy names the node");
    let (mut other_stream, _) = get_stream(front, &other, None);
    for i in 0..3 {
        // Through the balancer: each bump is made by the next node.
        bump(front, &sid, 10 + i);
    }
    let before = updates(&mut stream, 3);
    eprintln!("before: {before:?}");
    let other_ids = updates(&mut other_stream, 3);
    distinct(&before);
    assert_ne!(before, other_ids, "each stream names its own events");
    drop(other_stream);

    let index = ["n1", "n2", "n3"]
        .iter()
        .position(|n| *n == holder)
        .unwrap_or_else(|| panic!("served by {holder}"));
    nodes[index].child.kill().unwrap();
    nodes[index].child.wait().unwrap();
    drop(stream);
    // Updates made while the client has no stream, through the surviving nodes.
    for i in 0..5 {
        bump(front, &sid, 20 + i);
    }

    let last = before.last().unwrap().clone();
    let (mut resumed, by) = get_stream(front, &sid, Some(&last));
    let by = by.unwrap();
    assert_ne!(by, holder, "the dead node served the resumption");
    let missed = updates(&mut resumed, 5);
    distinct(&[before.clone(), missed.clone()].concat());
    nothing_more(&mut resumed, Duration::from_millis(500));
    bump(front, &sid, 30);
    let live = updates(&mut resumed, 1);
    distinct(&[missed.clone(), live].concat());
    nothing_more(&mut resumed, Duration::from_millis(500));
    eprintln!("stream on {holder} (killed) resumed on {by}: {missed:?}");

    // Another stream's id replays nothing here: only what comes after, live.
    let (mut wrong, _) = get_stream(front, &sid, other_ids.last().map(String::as_str));
    nothing_more(&mut wrong, Duration::from_millis(500));
    bump(front, &sid, 31);
    assert_eq!(updates(&mut wrong, 1).len(), 1);
    nothing_more(&mut wrong, Duration::from_millis(300));
}

/// The id of node `node`'s shard-0 connection to `redis` (named `ringmcp-<node>-0`).
fn link_client_id(redis: &Redis, node: &str) -> String {
    let list = redis.cmd(&["CLIENT", "LIST"]);
    let name = format!("name=ringmcp-{node}-0 ");
    list.lines()
        .find(|l| l.contains(&name))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .unwrap_or_else(|| panic!("no {name} in {list}"))
        .to_owned()
}

/// A node whose Redis connection drops misses the bus while it redials: it reads the notices it
/// missed from the log, so its open stream gets every update, each once. After a Redis restart
/// (with no node restarted) streams go on, and a resumption still finds what it missed.
#[test]
fn a_node_catches_up_after_its_link_drops_and_streams_survive_a_redis_restart() {
    let mut redis = Redis::new();
    let nodes = cluster_nodes(&redis, &[]);
    let [n1, n2, n3] = ports(&nodes);
    let (sid, _) = open_session(n1, V1125);
    subscribe(n1, &sid);
    let (bumper, _) = open_session(n2, V1125);
    let (mut stream, _) = get_stream(n1, &sid, None);
    bump(n2, &bumper, 10);
    let first = updates(&mut stream, 1);

    // n1's connection is cut; updates go on through n2 while n1 redials (50 ms or more).
    let id = link_client_id(&redis, "n1");
    assert_eq!(redis.cmd(&["CLIENT", "KILL", "ID", &id]), "1");
    let cut = Instant::now();
    for i in 0..20 {
        bump(n2, &bumper, 100 + i);
    }
    eprintln!("20 updates within {:?} of the cut", cut.elapsed());
    let caught = updates(&mut stream, 20);
    distinct(&[first, caught.clone()].concat());
    nothing_more(&mut stream, Duration::from_millis(500));
    assert_ne!(
        link_client_id(&redis, "n1"),
        id,
        "n1 redialed on a new connection"
    );

    // Redis restarts (its AOF keeps sessions and the log); no node restarts.
    redis.stop();
    redis.start();
    for port in [n1, n2, n3] {
        wait_ready(port, Duration::from_secs(10));
    }
    // Until both links are back, a bump may not reach the log: wait for one that comes through.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut next = 200;
    let last = loop {
        bump(n2, &bumper, next);
        next += 1;
        stream
            .stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .ok();
        if let Ok(Some(ev)) = stream.try_next_event() {
            break ev.id.expect("event id");
        }
        assert!(
            Instant::now() < deadline,
            "no update reached n1 after the restart"
        );
    };
    stream
        .stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok();
    for i in 0..3 {
        bump(n3, &bumper, 300 + i);
    }
    let after = updates(&mut stream, 3);
    distinct(&[caught, vec![last.clone()], after.clone()].concat());
    drop(stream);

    // The stream resumes on n3 from the first of those three.
    let (mut resumed, _) = get_stream(n3, &sid, Some(&after[0]));
    assert_eq!(updates(&mut resumed, 2), after[1..].to_vec());
    nothing_more(&mut resumed, Duration::from_millis(500));
}
