//! Streamable HTTP over raw sockets: every status code the transport promises, legacy sessions
//! across shards, SSE streams, the 2024-11-05 endpoints, Origin/Host checks and size limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::http::*;
use common::*;
use ringmcp_testkit::msg;
use serde_json::{json, Value};
use std::time::Duration;

fn port(s: &Server) -> u16 {
    s.port.unwrap()
}

fn post(port: u16, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
    let mut c = HttpClient::connect(port);
    c.send("POST", "/mcp", headers, body);
    c.read_response()
}

/// A legacy session on a fresh connection.
fn session(port: u16, version: &str) -> String {
    HttpClient::connect(port).initialize_legacy(version)
}

/// POST `m` on legacy session `sid` at 2025-11-25.
fn call(port: u16, sid: &str, m: msg::Msg) -> HttpResponse {
    post(
        port,
        &legacy_headers(sid, "2025-11-25"),
        m.text().as_bytes(),
    )
}

#[test]
fn modern_requests_and_header_rules() {
    let s = Server::http(&[]);
    let p = port(&s);
    let r = post(
        p,
        &modern_headers("tools/call", Some("echo")),
        &modern_body(
            1,
            "tools/call",
            json!({"name":"echo","arguments":{"text":"hi"}}),
        ),
    );
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("application/json"))
    );
    assert_eq!(r.json()["result"]["content"][0]["text"], "hi");
    assert_eq!(r.json()["result"]["resultType"], "complete");
    // Mcp-Name may be base64-wrapped.
    let r = post(
        p,
        &modern_headers("tools/call", Some("=?base64?ZWNobw==?=")),
        &modern_body(
            2,
            "tools/call",
            json!({"name":"echo","arguments":{"text":"b64"}}),
        ),
    );
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    // Header mismatches: 400 + -32020.
    let r = post(
        p,
        &modern_headers("tools/list", None),
        &modern_body(
            3,
            "tools/call",
            json!({"name":"echo","arguments":{"text":"x"}}),
        ),
    );
    assert_eq!((r.status, r.error_code()), (400, -32020));
    let r = post(
        p,
        &modern_headers("tools/call", Some("add")),
        &modern_body(
            4,
            "tools/call",
            json!({"name":"echo","arguments":{"text":"x"}}),
        ),
    );
    assert_eq!((r.status, r.error_code()), (400, -32020));
    let r = post(
        p,
        &modern_headers("tools/call", None),
        &modern_body(
            5,
            "tools/call",
            json!({"name":"echo","arguments":{"text":"x"}}),
        ),
    );
    assert_eq!(
        (r.status, r.error_code()),
        (400, -32020),
        "missing Mcp-Name"
    );
    let mut h = modern_headers("tools/list", None);
    h.retain(|(n, _)| *n != "Mcp-Method");
    let r = post(p, &h, &modern_body(6, "tools/list", Value::Null));
    assert_eq!(
        (r.status, r.error_code()),
        (400, -32020),
        "missing Mcp-Method"
    );
    // Body _meta version disagreeing with the header.
    let body = msg::request(7, "tools/list")
        .meta("io.modelcontextprotocol/protocolVersion", "2025-11-25")
        .stateless();
    let r = post(
        p,
        &modern_headers("tools/list", None),
        body.text().as_bytes(),
    );
    assert_eq!((r.status, r.error_code()), (400, -32020));
    // Unsupported version: 400 + -32022 with the supported list.
    let mut h = modern_headers("tools/list", None);
    h[2] = ("MCP-Protocol-Version", "1900-01-01");
    let r = post(p, &h, &modern_body(8, "tools/list", Value::Null));
    assert_eq!((r.status, r.error_code()), (400, -32022));
    assert!(r.json()["error"]["data"]["supported"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-07-28")));
    // Missing client capabilities: 400 + -32602.
    let body =
        msg::request(9, "tools/list").meta("io.modelcontextprotocol/protocolVersion", "2026-07-28");
    let r = post(
        p,
        &modern_headers("tools/list", None),
        body.text().as_bytes(),
    );
    assert_eq!((r.status, r.error_code()), (400, -32602));
    // Unknown method: 404 + -32601.
    let r = post(
        p,
        &modern_headers("no/such", None),
        &modern_body(10, "no/such", Value::Null),
    );
    assert_eq!((r.status, r.error_code()), (404, -32601));
    // A JSON-RPC error that is not a header or version problem stays 200.
    let r = post(
        p,
        &modern_headers("tools/call", Some("nope")),
        &modern_body(11, "tools/call", json!({"name":"nope"})),
    );
    assert_eq!((r.status, r.error_code()), (200, -32602));
    // Notifications are accepted with 202; GET and DELETE are not part of 2026-07-28.
    let note = msg::cancel(1);
    assert_eq!(
        post(
            p,
            &modern_headers("notifications/cancelled", None),
            note.text().as_bytes()
        )
        .status,
        202
    );
    let mut c = HttpClient::connect(p);
    c.send(
        "GET",
        "/mcp",
        &[
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Accept", "text/event-stream"),
        ],
        b"",
    );
    assert_eq!(c.read_response().status, 405);
    // Bad JSON and batches.
    assert_eq!(
        post(p, &modern_headers("tools/list", None), b"{nope").status,
        400
    );
    let batch = format!(
        "[{}]",
        String::from_utf8(modern_body(12, "tools/list", Value::Null)).unwrap()
    );
    assert_eq!(
        post(p, &modern_headers("tools/list", None), batch.as_bytes()).status,
        400
    );
    // Wrong content type.
    let mut h = modern_headers("tools/list", None);
    h[0] = ("Content-Type", "text/plain");
    assert_eq!(
        post(p, &h, &modern_body(13, "tools/list", Value::Null)).status,
        415
    );
}

#[test]
fn modern_progress_streams_as_sse() {
    let s = Server::http(&[]);
    let body = msg::call(1, "progress")
        .args(json!({"steps": 3, "delay_ms": 1}))
        .meta("progressToken", "p")
        .stateless();
    let r = post(
        port(&s),
        &modern_headers("tools/call", Some("progress")),
        body.text().as_bytes(),
    );
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(r.header("x-accel-buffering"), Some("no"));
    let msgs = r.messages();
    assert_eq!(
        msgs.len(),
        4,
        "3 progress notifications then the result: {msgs:?}"
    );
    assert!(msgs[..3]
        .iter()
        .all(|m| m["method"] == "notifications/progress"));
    assert_eq!(msgs[3]["result"]["content"][0]["text"], "done 3 steps");
}

#[test]
fn modern_listen_stream_gets_updates_from_any_shard() {
    let s = Server::http(&["--cores", "2", "--sse-keepalive-secs", "1"]);
    let p = port(&s);
    let mut listener = HttpClient::connect(p);
    let body = modern_body(
        7,
        "subscriptions/listen",
        json!({"notifications":{"resourceSubscriptions":["demo://counter"]}}),
    );
    listener.send(
        "POST",
        "/mcp",
        &modern_headers("subscriptions/listen", None),
        &body,
    );
    let (status, headers) = listener.read_head();
    assert_eq!(status, 200);
    assert!(
        headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("content-type")
                && v.starts_with("text/event-stream"))
    );
    let ack: Value = serde_json::from_str(&listener.next_event().unwrap().data).unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        7
    );
    // An idle listen stream carries keep-alive comments.
    let comment = listener.read_chunk().expect("keep-alive chunk");
    assert!(
        String::from_utf8_lossy(&comment).starts_with(": keep-alive"),
        "{:?}",
        String::from_utf8_lossy(&comment)
    );
    // Bump from several fresh connections (the kernel spreads them over both shards).
    for i in 0..4 {
        let r = post(
            p,
            &modern_headers("tools/call", Some("bump")),
            &modern_body(100 + i, "tools/call", json!({"name":"bump","arguments":{}})),
        );
        assert_eq!(r.status, 200);
        let upd: Value = serde_json::from_str(&listener.next_event().unwrap().data).unwrap();
        assert_eq!(upd["method"], "notifications/resources/updated");
        assert_eq!(upd["params"]["uri"], "demo://counter");
        assert_eq!(
            upd["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
            7
        );
    }
}

#[test]
fn legacy_sessions_and_status_codes() {
    let s = Server::http(&["--cores", "2"]);
    let p = port(&s);
    let sid = session(p, "2025-11-25");
    assert!(
        sid.len() >= 34 && sid.bytes().all(|b| (0x21..=0x7e).contains(&b)),
        "visible ASCII, >= 128 bits: {sid}"
    );
    let r = call(p, &sid, msg::call(2, "echo").args(json!({"text":"sess"})));
    assert_eq!(r.json()["result"]["content"][0]["text"], "sess");
    assert!(r.json()["result"].get("resultType").is_none());
    // Missing session id: 400. Unknown: 404.
    let body = msg::request(3, "tools/list").text();
    assert_eq!(
        post(
            p,
            &[JSON, ACCEPT, ("MCP-Protocol-Version", "2025-11-25")],
            body.as_bytes()
        )
        .status,
        400
    );
    assert_eq!(
        post(
            p,
            &[
                JSON,
                ACCEPT,
                ("Mcp-Session-Id", "00ffffffffffffffffffffffffffffffff")
            ],
            body.as_bytes()
        )
        .status,
        404
    );
    // An invalid protocol version header: 400.
    assert_eq!(
        post(
            p,
            &[
                JSON,
                ACCEPT,
                ("Mcp-Session-Id", &sid),
                ("MCP-Protocol-Version", "banana")
            ],
            body.as_bytes()
        )
        .status,
        400
    );
    // Missing version header: treated as 2025-03-26, accepted.
    assert_eq!(
        post(
            p,
            &[JSON, ACCEPT, ("Mcp-Session-Id", &sid)],
            body.as_bytes()
        )
        .status,
        200
    );
    // DELETE ends the session: 204, then 404.
    let mut c = HttpClient::connect(p);
    c.send("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"");
    assert_eq!(c.read_response().status, 204);
    assert_eq!(
        call(p, &sid, msg::request(4, "tools/list").params(json!({}))).status,
        404
    );
    c.send("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"");
    assert_eq!(c.read_response().status, 404);
    // Unknown method on the endpoint: 405.
    c.send("PUT", "/mcp", &[], b"");
    assert_eq!(c.read_response().status, 405);
    c.send("GET", "/nope", &[], b"");
    assert_eq!(c.read_response().status, 404);
}

#[test]
fn sessions_reached_across_shards_on_fresh_connections() {
    let s = Server::http(&["--cores", "2"]);
    let p = port(&s);
    let sessions: Vec<String> = (0..24).map(|_| session(p, "2025-06-18")).collect();
    let owners: std::collections::HashSet<&str> = sessions.iter().map(|s| &s[..2]).collect();
    assert_eq!(owners.len(), 2, "sessions on both shards: {owners:?}");
    for round in 0..3 {
        for (i, sid) in sessions.iter().enumerate() {
            let r = call(
                p,
                sid,
                msg::call(10 + i as i64, "echo").args(json!({"text":format!("{round}-{i}")})),
            );
            assert_eq!(r.status, 200);
            assert_eq!(
                r.json()["result"]["content"][0]["text"],
                format!("{round}-{i}")
            );
        }
    }
}

#[test]
fn legacy_get_stream_receives_updates_with_event_ids() {
    let s = Server::http(&["--cores", "2"]);
    let p = port(&s);
    let sid = session(p, "2025-11-25");
    assert_eq!(
        call(
            p,
            &sid,
            msg::request(2, "resources/subscribe").param("uri", "demo://counter")
        )
        .status,
        200
    );
    let mut stream = HttpClient::connect(p);
    stream.send(
        "GET",
        "/mcp",
        &[
            ("Accept", "text/event-stream"),
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        b"",
    );
    let (status, _) = stream.read_head();
    assert_eq!(status, 200);
    let other = session(p, "2025-11-25");
    let mut ids = Vec::new();
    for i in 0..3 {
        assert_eq!(
            call(p, &other, msg::call(10 + i, "bump").args(json!({}))).status,
            200
        );
        let ev = stream.next_event().expect("update event");
        let msg: Value = serde_json::from_str(&ev.data).unwrap();
        assert_eq!(msg["method"], "notifications/resources/updated");
        ids.push(ev.id.expect("event id"));
    }
    assert_eq!(ids, vec!["1", "2", "3"]);
    // Disconnect, miss two updates, reconnect with Last-Event-ID: the missed ones are replayed.
    drop(stream);
    std::thread::sleep(Duration::from_millis(100));
    for i in 0..2 {
        assert_eq!(
            call(p, &other, msg::call(20 + i, "bump").args(json!({}))).status,
            200
        );
    }
    let mut again = HttpClient::connect(p);
    again.send(
        "GET",
        "/mcp",
        &[
            ("Accept", "text/event-stream"),
            ("Mcp-Session-Id", &sid),
            ("Last-Event-ID", "3"),
        ],
        b"",
    );
    assert_eq!(again.read_head().0, 200);
    let replayed: Vec<String> = (0..2)
        .map(|_| again.next_event().unwrap().id.unwrap())
        .collect();
    assert_eq!(replayed, vec!["4", "5"]);
    // GET without a session id or with a wrong Accept.
    let mut c = HttpClient::connect(p);
    c.send("GET", "/mcp", &[("Accept", "text/event-stream")], b"");
    assert_eq!(c.read_response().status, 400);
    c.send(
        "GET",
        "/mcp",
        &[("Accept", "application/json"), ("Mcp-Session-Id", &sid)],
        b"",
    );
    assert_eq!(c.read_response().status, 406);
}

#[test]
fn legacy_server_to_client_request_over_sse() {
    let s = Server::http(&[]);
    let p = port(&s);
    let body = msg::initialize(1, "2025-11-25").param("capabilities", json!({"elicitation": {}}));
    let r = post(p, &[JSON, ACCEPT], body.text().as_bytes());
    let sid = r.header("mcp-session-id").unwrap().to_owned();
    let mut c = HttpClient::connect(p);
    let req = msg::call(2, "confirm").args(json!({"question": "Go?"}));
    c.send(
        "POST",
        "/mcp",
        &[JSON, ACCEPT, ("Mcp-Session-Id", &sid)],
        req.text().as_bytes(),
    );
    let (status, _) = c.read_head();
    assert_eq!(status, 200);
    let ask: Value = serde_json::from_str(&c.next_event().unwrap().data).unwrap();
    assert_eq!(ask["method"], "elicitation/create");
    let answer = msg::answer(
        ask["id"].clone(),
        json!({"action": "accept", "content": {"confirmed": true}}),
    );
    assert_eq!(
        post(
            p,
            &[JSON, ACCEPT, ("Mcp-Session-Id", &sid)],
            answer.text().as_bytes()
        )
        .status,
        202
    );
    let done: Value = serde_json::from_str(&c.next_event().unwrap().data).unwrap();
    assert_eq!(done["result"]["content"][0]["text"], "confirmed: yes");
}

#[test]
fn idle_sessions_expire_and_caps_apply() {
    let s = Server::http(&[
        "--cores",
        "1",
        "--session-idle-secs",
        "1",
        "--max-sessions",
        "2",
    ]);
    let p = port(&s);
    let a = session(p, "2025-11-25");
    let _b = session(p, "2025-11-25");
    let body = msg::initialize(1, "2025-11-25");
    assert_eq!(
        post(p, &[JSON, ACCEPT], body.text().as_bytes()).status,
        503,
        "past the session cap"
    );
    std::thread::sleep(Duration::from_millis(2600));
    assert_eq!(
        call(p, &a, msg::request(2, "tools/list").params(json!({}))).status,
        404,
        "expired"
    );
    assert_eq!(
        post(p, &[JSON, ACCEPT], body.text().as_bytes()).status,
        200,
        "room again after expiry"
    );
}

#[test]
fn origin_and_host_checks() {
    let s = Server::http(&[]);
    let p = port(&s);
    let body = modern_body(1, "tools/list", Value::Null);
    let mut h = modern_headers("tools/list", None);
    h.push(("Origin", "https://evil.example"));
    assert_eq!(post(p, &h, &body).status, 403);
    let mut h = modern_headers("tools/list", None);
    h.push(("Origin", "http://localhost:6274"));
    let r = post(p, &h, &body);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:6274")
    );
    let mut h = modern_headers("tools/list", None);
    h.push(("Host", "attacker.example:80"));
    assert_eq!(
        post(p, &h, &body).status,
        403,
        "DNS rebinding: foreign Host"
    );
    let s2 = Server::http(&["--allow-origin", "https://app.example"]);
    let mut h = modern_headers("tools/list", None);
    h.push(("Origin", "https://app.example"));
    assert_eq!(post(port(&s2), &h, &body).status, 200);
}

/// Load balancers and orchestrators probe without a Host header, or with an address or Origin
/// of their own: the probes answer them all, before the checks that guard everything else.
#[test]
fn probes_are_answered_before_the_host_and_origin_checks() {
    let s = Server::http(&[]);
    let p = port(&s);
    let probe = |raw: &str| {
        let mut c = HttpClient::connect(p);
        c.send_raw(raw.as_bytes());
        c.read_response()
    };
    // HAProxy's plain `option httpchk`.
    let r = probe("OPTIONS / HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.body_text());
    for (path, says) in [("/health", "ok\n"), ("/ready", "ready\n")] {
        for raw in [
            format!("GET {path} HTTP/1.0\r\n\r\n"),
            format!("GET {path} HTTP/1.1\r\nHost: 10.1.2.3:8080\r\n\r\n"),
            format!(
                "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n\r\n"
            ),
        ] {
            let r = probe(&raw);
            assert_eq!(r.status, 200, "{raw:?}: {}", r.body_text());
            assert_eq!(r.body, says.as_bytes(), "{raw:?}");
        }
    }
    // Everything else still passes the checks first.
    for raw in [
        "GET /metrics HTTP/1.1\r\nHost: attacker.example\r\n\r\n",
        "OPTIONS /mcp HTTP/1.0\r\n\r\n",
        "GET /nothing HTTP/1.0\r\n\r\n",
    ] {
        assert_eq!(probe(raw).status, 403, "{raw:?}");
    }
}

#[test]
fn size_limits_and_garbage() {
    let s = Server::http(&[
        "--max-message-bytes",
        "1000",
        "--max-headers",
        "8",
        "--max-header-bytes",
        "2048",
    ]);
    let p = port(&s);
    let big = modern_body(
        1,
        "tools/call",
        json!({"name":"echo","arguments":{"text":"x".repeat(2000)}}),
    );
    let r = post(p, &modern_headers("tools/call", Some("echo")), &big);
    assert_eq!(r.status, 413);
    let many: Vec<(String, String)> = (0..20).map(|i| (format!("X-{i}"), "v".into())).collect();
    let mut c = HttpClient::connect(p);
    let h: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    c.send("GET", "/mcp", &h, b"");
    assert_eq!(c.read_response().status, 431);
    assert!(c.closed_by_peer(), "closed after a refused request");
    let long = "y".repeat(4000);
    let mut c = HttpClient::connect(p);
    c.send("GET", "/mcp", &[("X-Long", long.as_str())], b"");
    assert_eq!(c.read_response().status, 431);
    let mut c = HttpClient::connect(p);
    c.send_raw(b"\x16\x03\x01 not http at all\r\n\r\n");
    assert_eq!(c.read_response().status, 400);
    assert!(c.closed_by_peer());
    // The server is fine afterwards.
    let r = post(
        p,
        &modern_headers("tools/list", None),
        &modern_body(2, "tools/list", Value::Null),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn pipelined_requests_answered_in_order() {
    let s = Server::http(&[]);
    let p = port(&s);
    let mut c = HttpClient::connect(p);
    let mut bytes = Vec::new();
    for (i, ms) in [(1, 150), (2, 0), (3, 30)] {
        let body = modern_body(
            i,
            "tools/call",
            json!({"name":"sleep","arguments":{"ms":ms}}),
        );
        bytes.extend_from_slice(format!("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{p}\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: sleep\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes());
        bytes.extend_from_slice(&body);
    }
    c.send_raw(&bytes);
    for i in 1..=3 {
        let r = c.read_response();
        assert_eq!(r.json()["id"], i, "answers come back in request order");
    }
}

#[test]
fn legacy_http_sse_transport_2024_11_05() {
    let s = Server::http(&["--cores", "2"]);
    let p = port(&s);
    let mut stream = HttpClient::connect(p);
    stream.send("GET", "/sse", &[("Accept", "text/event-stream")], b"");
    let (status, _) = stream.read_head();
    assert_eq!(status, 200);
    let endpoint = stream.next_event().unwrap();
    assert_eq!(endpoint.event.as_deref(), Some("endpoint"));
    let path = endpoint.data.clone();
    assert!(path.starts_with("/messages?sessionId="), "{path}");
    let send = |m: msg::Msg| {
        let mut c = HttpClient::connect(p);
        c.send("POST", &path, &[JSON], m.text().as_bytes());
        c.read_response().status
    };
    assert_eq!(send(msg::initialize(1, "2024-11-05")), 202);
    let init: Value = serde_json::from_str(&stream.next_event().unwrap().data).unwrap();
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    for i in 0..4 {
        assert_eq!(
            send(msg::call(2 + i, "echo").args(json!({"text": format!("sse{i}")}))),
            202
        );
        let ev = stream.next_event().unwrap();
        let msg: Value = serde_json::from_str(&ev.data).unwrap();
        assert_eq!(msg["result"]["content"][0]["text"], format!("sse{i}"));
    }
    let mut c = HttpClient::connect(p);
    c.send("POST", "/messages?sessionId=00nope", &[JSON], b"{}");
    assert_eq!(c.read_response().status, 404);
}

/// The sum over shards of one Prometheus series.
fn metric_sum(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| {
            l.starts_with(name)
                && l[name.len()..].starts_with('{')
                && labels.iter().all(|lb| l.contains(lb))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn metrics_health_and_ready() {
    let s = Server::http(&["--cores", "2"]);
    let p = port(&s);
    for i in 0..10 {
        let r = post(
            p,
            &modern_headers("tools/call", Some("echo")),
            &modern_body(
                i,
                "tools/call",
                json!({"name":"echo","arguments":{"text":"m"}}),
            ),
        );
        assert_eq!(r.status, 200);
    }
    let r = post(
        p,
        &modern_headers("tools/call", Some("nope")),
        &modern_body(99, "tools/call", json!({"name":"nope"})),
    );
    assert_eq!(r.error_code(), -32602);
    let sessions: Vec<String> = (0..3).map(|_| session(p, "2025-11-25")).collect();
    let mut c = HttpClient::connect(p);
    c.send("GET", "/metrics", &[], b"");
    let m = c.read_response();
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let text = String::from_utf8(m.body).unwrap();
    assert!(
        text.contains("# TYPE ringmcp_requests_total counter"),
        "{text}"
    );
    assert_eq!(
        metric_sum(
            &text,
            "ringmcp_requests_total",
            &["method=\"tools/call\"", "outcome=\"ok\""]
        ),
        10.0,
        "{text}"
    );
    assert_eq!(
        metric_sum(
            &text,
            "ringmcp_requests_total",
            &["method=\"tools/call\"", "outcome=\"error\""]
        ),
        1.0
    );
    assert_eq!(
        metric_sum(&text, "ringmcp_requests_total", &["method=\"initialize\""]),
        3.0
    );
    assert_eq!(
        metric_sum(&text, "ringmcp_sessions", &[]),
        sessions.len() as f64
    );
    // One connection per POST above, one per session (its handshake keeps its connection).
    assert!(metric_sum(&text, "ringmcp_connections_accepted_total", &[]) >= 14.0);
    assert!(metric_sum(&text, "ringmcp_received_bytes_total", &[]) > 0.0);
    let shards: std::collections::HashSet<&str> = text
        .lines()
        .filter_map(|l| l.split("shard=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(
        shards.len(),
        2,
        "one series per shard, merged at scrape: {shards:?}"
    );
    assert!(metric_sum(&text, "ringmcp_request_duration_seconds_count", &[]) >= 14.0);
    c.send("GET", "/health", &[], b"");
    assert_eq!(c.read_response().status, 200);
    c.send("GET", "/ready", &[], b"");
    assert_eq!(c.read_response().status, 200);
}

#[test]
fn slow_requests_get_408_and_idle_connections_close() {
    let s = Server::http(&[
        "--http-request-timeout-ms",
        "300",
        "--http-idle-timeout-secs",
        "1",
    ]);
    let p = port(&s);
    // Slowloris head: part of a request line and never the rest.
    let mut slow_head = HttpClient::connect(p);
    slow_head.send_raw(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    // Slow body: a complete head announcing a body that never comes.
    let mut slow_body = HttpClient::connect(p);
    slow_body.send_raw(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{");
    let started = std::time::Instant::now();
    assert_eq!(slow_head.read_response().status, 408);
    assert!(slow_head.closed_by_peer());
    assert_eq!(slow_body.read_response().status, 408);
    assert!(started.elapsed() < Duration::from_secs(5));
    // A connection that says nothing is closed after the idle timeout; an active one is not.
    let mut silent = HttpClient::connect(p);
    let started = std::time::Instant::now();
    assert!(silent.closed_by_peer(), "idle connection closed");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the idle timeout"
    );
    let r = post(
        p,
        &modern_headers("tools/list", None),
        &modern_body(1, "tools/list", Value::Null),
    );
    assert_eq!(r.status, 200, "the server serves on");
}

#[test]
fn rate_limit_per_client_address() {
    let s = Server::http(&[
        "--cores",
        "1",
        "--rate-limit-rps",
        "2",
        "--rate-limit-burst",
        "3",
    ]);
    let p = port(&s);
    let statuses: Vec<u16> = (0..6)
        .map(|i| {
            post(
                p,
                &modern_headers("tools/list", None),
                &modern_body(i, "tools/list", Value::Null),
            )
            .status
        })
        .collect();
    assert_eq!(&statuses[..3], &[200, 200, 200], "{statuses:?}");
    assert!(statuses[3..].iter().all(|&s| s == 429), "{statuses:?}");
    let r = post(
        p,
        &modern_headers("tools/list", None),
        &modern_body(9, "tools/list", Value::Null),
    );
    assert_eq!(r.status, 429);
    assert!(r
        .header("retry-after")
        .is_some_and(|v| v.parse::<u64>().is_ok()));
    assert_eq!(r.error_code(), -32000);
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        post(
            p,
            &modern_headers("tools/list", None),
            &modern_body(10, "tools/list", Value::Null)
        )
        .status,
        200
    );
}

#[test]
fn a_cancelled_request_ends_its_response_without_an_answer() {
    let s = Server::http(&[]);
    let p = port(&s);
    let sid = session(p, "2025-11-25");
    let headers = legacy_headers(&sid, "2025-11-25");
    let mut slow = HttpClient::connect(p);
    slow.send(
        "POST",
        "/mcp",
        &headers,
        msg::call(7, "sleep")
            .args(json!({"ms": 30_000}))
            .text()
            .as_bytes(),
    );
    // The call must be running before it can be cancelled from another connection.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(call(p, &sid, msg::cancel(7)).status, 202);
    let started = std::time::Instant::now();
    let r = slow.read_response();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the response ended only after {:?}",
        started.elapsed()
    );
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("text/event-stream"))
    );
    assert!(
        r.messages().iter().all(|m| m.get("id") != Some(&json!(7))),
        "a cancelled request is not answered: {}",
        r.body_text()
    );
    // The connection is free for the next request.
    let pong = slow.post(&headers, msg::request(8, "ping").text().as_bytes());
    assert_eq!(pong.json()["id"], 8, "{}", pong.body_text());
}

#[test]
fn request_state_expires_and_single_use_holds_across_shards() {
    let s = Server::http(&["--cores", "2", "--request-state-ttl-secs", "1"]);
    let p = port(&s);
    let state = approve_state(&approve(p, None, 1, "ship", None));
    assert_eq!(
        outcome(&approve(p, None, 2, "ship", Some(&state))),
        "approved: ship"
    );
    // Fresh connections spread over both shards: none takes the state a second time.
    for id in 3..9 {
        let r = approve(p, None, id, "ship", Some(&state));
        assert_eq!(r.status, 200, "{}", r.body_text());
        assert_eq!(
            outcome(&r),
            "error -32602: Invalid params: requestState already used"
        );
    }
    // A retry that drops the state is asked again rather than approved.
    let body = approve_body(10, "ship", Some(&state));
    let mut without: Value = serde_json::from_slice(&body).unwrap();
    without["params"]
        .as_object_mut()
        .unwrap()
        .remove("requestState");
    let r = post(
        p,
        &modern_headers("tools/call", Some("approve")),
        without.to_string().as_bytes(),
    );
    assert_eq!(
        r.json()["result"]["resultType"],
        "input_required",
        "{}",
        r.body_text()
    );
    // Past the time to live a state is refused as expired, not as tampered.
    let late = approve_state(&approve(p, None, 11, "ship", None));
    std::thread::sleep(Duration::from_millis(1100));
    let r = approve(p, None, 12, "ship", Some(&late));
    assert_eq!(
        outcome(&r),
        "error -32602: Invalid params: requestState expired; send the request again without it"
    );
}
