//! The hostile-input matrix on Streamable HTTP: malformed, oversized, slow, half-open, reset and
//! flooding clients, and requests that HTTP/1.1 (RFC 9110/9112), MCP and docs/SECURITY.md say to
//! refuse. Every case sends its input on a connection of its own; the runner
//! (`tests/hostile/mod.rs`) checks a bystander of the case's own (holding a legacy session)
//! before and after it. This file owns the HTTP case table and bodies only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
// The hostile cases name it `http_client`; it is common's HTTP client.
use common::http as http_client;
#[macro_use]
#[path = "hostile/mod.rs"]
mod hostile;

use common::{is_reset, modern, reset, small_rcvbuf_connect};
use hostile::{
    assert_error, metrics_until, panic_text, Case, Env, Metrics, Transport, HTTP_MAX_BODY,
    HTTP_MAX_HEAD, HTTP_MAX_HEADERS, HTTP_REQUEST_TIMEOUT_MS,
};
use http_client::{
    legacy_headers, modern_body, modern_headers, HttpClient, HttpResponse, ACCEPT, JSON,
};
use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use std::net::Shutdown;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The matrix had this many HTTP cases when it was split by transport; it may only grow.
const MIN_CASES: usize = 56;

/// The cases the memory check runs, in order, on a server of its own.
const MEMORY: &[&str] = &[
    "http/deep-nesting-60k-open-brackets",
    "http/batch-on-2025-11-25-session",
    "http/request-on-deleted-session",
    "http/oversize-body-content-length",
    "http/oversize-body-chunked",
    "http/oversize-body-expect-100-continue",
    "http/too-many-headers",
    "http/oversize-header-bytes",
    "http/slowloris-body",
    "http/half-close-mid-request",
    "http/half-close-with-request-in-flight",
    "http/reset-mid-request",
    "http/reset-with-request-in-flight",
    "http/pipelining-flood",
    "http/sse-reader-never-reads",
];

fn main() -> ExitCode {
    hostile::main(Transport::Http, cases(), MIN_CASES, MEMORY)
}

fn cases() -> Vec<Case> {
    vec![
        case!("http/malformed-json", Main, |e| http_jsonrpc_error(
            e,
            b"{nope",
            400,
            Value::Null,
            -32700
        )),
        case!("http/truncated-json", Main, |e| http_jsonrpc_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"",
            400,
            Value::Null,
            -32700
        )),
        case!("http/empty-body", Main, |e| http_jsonrpc_error(
            e,
            b"",
            400,
            Value::Null,
            -32700
        )),
        case!("http/invalid-utf8-in-body", Main, http_invalid_utf8),
        case!("http/deep-nesting-60k-open-brackets", Main, |e| {
            http_jsonrpc_error(e, &b"[".repeat(60_000), 400, Value::Null, -32700)
        }),
        case!("http/batch-on-2026-07-28", Main, http_batch_modern),
        case!("http/batch-on-2025-11-25-session", Main, http_batch_legacy),
        case!("http/null-id", Main, |e| {
            http_jsonrpc_error(e, br#"{"jsonrpc":"2.0","id":null,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#, 400, Value::Null, -32600)
        }),
        case!("http/id-of-wrong-type", Main, |e| {
            http_jsonrpc_error(e, br#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#, 400, Value::Null, -32600)
        }),
        case!("http/jsonrpc-1.0", Main, |e| {
            http_jsonrpc_error(e, br#"{"jsonrpc":"1.0","id":7,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#, 400, json!(7), -32600)
        }),
        case!("http/tools-call-wrong-types", Main, http_wrong_types),
        case!("http/unknown-method", Main, http_unknown_method),
        case!("http/unknown-notification", Main, http_unknown_notification),
        case!(
            "http/response-to-unsent-request",
            Main,
            http_unsolicited_response
        ),
        case!("http/wrong-content-type", Main, |e| http_content_type(
            e,
            Some("text/plain")
        )),
        case!("http/missing-content-type", Main, |e| {
            http_content_type(e, None)
        }),
        case!("http/unacceptable-accept", Main, http_wrong_accept),
        case!("http/missing-accept", Main, http_missing_accept),
        case!("http/foreign-origin", Main, |e| http_origin(
            e,
            "https://evil.example"
        )),
        case!("http/null-origin", Main, |e| http_origin(e, "null")),
        case!("http/foreign-host", Main, http_foreign_host),
        case!("http/missing-host", Main, http_missing_host),
        case!("http/duplicate-host", Main, http_duplicate_host),
        case!("http/unknown-session-ids", Main, http_unknown_sessions),
        case!(
            "http/request-on-deleted-session",
            Main,
            http_deleted_session
        ),
        case!("http/legacy-request-without-session", Main, http_no_session),
        case!(
            "http/bad-protocol-version-header",
            Main,
            http_bad_version_header
        ),
        case!(
            "http/wrong-method-and-path",
            Main,
            http_wrong_method_and_path
        ),
        case!("http/absolute-form-target", Main, http_absolute_form),
        case!(
            "http/oversize-body-content-length",
            Main,
            http_oversize_content_length
        ),
        case!("http/oversize-body-chunked", Main, http_oversize_chunked),
        case!(
            "http/oversize-body-expect-100-continue",
            Main,
            http_oversize_expect_continue
        ),
        case!("http/too-many-headers", Main, http_too_many_headers),
        case!("http/oversize-header-bytes", Main, http_oversize_head),
        case!("http/bad-content-length", Main, http_bad_content_length),
        case!(
            "http/content-length-overflow",
            Main,
            http_content_length_overflow
        ),
        case!("http/conflicting-content-lengths", Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", &[400])
        }),
        case!("http/content-length-with-chunked", Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[400])
        }),
        case!("http/unsupported-transfer-encoding", Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n", &[501])
        }),
        case!("http/bad-chunk-size", Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &[400])
        }),
        case!("http/chunk-size-overflow", Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n", &[400, 413])
        }),
        case!("http/binary-garbage", Main, |e| http_refused(
            e,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            &[400]
        )),
        case!("http/http2-prior-knowledge-preface", Main, |e| {
            http_refused(e, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[400, 505])
        }),
        case!("http/obsolete-line-folding", Main, |e| http_refused(
            e,
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n b\r\n\r\n",
            &[400]
        )),
        case!("http/header-without-colon", Main, |e| http_refused(
            e,
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nBogus\r\n\r\n",
            &[400]
        )),
        case!("http/slowloris-head", Main, http_slowloris_head),
        case!("http/slowloris-trickle", Main, http_slowloris_trickle),
        case!("http/slowloris-body", Main, http_slowloris_body),
        case!(
            "http/half-close-mid-request",
            Main,
            http_half_close_mid_request
        ),
        case!(
            "http/half-close-with-request-in-flight",
            Main,
            http_half_close_in_flight
        ),
        case!("http/reset-mid-request", Own, http_reset_mid_request),
        case!(
            "http/reset-with-request-in-flight",
            Own,
            http_reset_in_flight
        ),
        case!(
            "http/request-after-connection-close",
            Main,
            http_after_close
        ),
        case!("http/pipelining-flood", Main, http_pipeline_flood),
        case!(
            "http/oversize-body-without-expect",
            Main,
            http_oversize_without_expect
        ),
        case!("http/sse-reader-never-reads", Main, http_sse_never_reads),
        case!("http/rate-limit-exceeded", RateLimited, http_rate_limit),
    ]
}

/// A 2026-07-28 POST of `body` on a fresh connection.
fn modern_post(env: &Env, method: &str, name: Option<&str>, body: &[u8]) -> HttpResponse {
    let mut c = HttpClient::connect(env.port());
    c.post(&modern_headers(method, name), body)
}

fn assert_http_error(r: &HttpResponse, status: u16, id: &Value, code: i64) {
    assert_eq!(r.status, status, "{}", r.body_text());
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    assert_error(&r.json(), id, code);
}

fn http_jsonrpc_error(env: &Env, body: &[u8], status: u16, id: Value, code: i64) {
    let mut c = HttpClient::connect(env.port());
    let r = c.post(&modern_headers("tools/list", None), body);
    assert_http_error(&r, status, &id, code);
    // A JSON-RPC error is not an HTTP framing error: the connection serves on.
    let r = c.post(
        &modern_headers("tools/list", None),
        &modern_body(2, "tools/list", Value::Null),
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
}

fn http_invalid_utf8(env: &Env) {
    let body = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"\xff\xfe\"},\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{}}}}";
    let r = modern_post(env, "tools/call", Some("echo"), body);
    assert_http_error(&r, 400, &Value::Null, -32700);
}

fn http_batch_modern(env: &Env) {
    let one = String::from_utf8(modern_body(1, "tools/list", Value::Null)).expect("utf8");
    let r = modern_post(env, "tools/list", None, format!("[{one},{one}]").as_bytes());
    assert_http_error(&r, 400, &Value::Null, -32600);
}

fn http_batch_legacy(env: &Env) {
    let mut c = HttpClient::connect(env.port());
    let sid = c.initialize_legacy("2025-11-25");
    let r = c.post(
        &[
            JSON,
            ACCEPT,
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        br#"[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":3,"method":"tools/list"}]"#,
    );
    assert_http_error(&r, 400, &Value::Null, -32600);
}

fn http_wrong_types(env: &Env) {
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}});
    let cases = [
        (
            "42",
            json!({"name": 42, "arguments": {"text": "x"}, "_meta": meta}),
        ),
        (
            "echo",
            json!({"name": "echo", "arguments": "x", "_meta": meta}),
        ),
        (
            "echo",
            json!({"name": "echo", "arguments": [1], "_meta": meta}),
        ),
        (
            "echo",
            json!({"name": "echo", "arguments": {"text": "x"}, "_meta": 5}),
        ),
        (
            "echo",
            json!({"name": "echo", "arguments": {"text": "x"}, "_meta": "m"}),
        ),
    ];
    let mut wrong = Vec::new();
    for (i, (name, params)) in cases.iter().enumerate() {
        let body = json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params});
        let r = modern_post(env, "tools/call", Some(name), body.to_string().as_bytes());
        let m = r.json();
        // Invalid params (the HTTP status of a -32602 is 200 or 400 depending on where it is
        // caught; the JSON-RPC code is what matters).
        if !(matches!(r.status, 200 | 400)
            && m["id"] == json!(i)
            && m["error"]["code"] == json!(-32602))
        {
            wrong.push(format!("params {params}: {} {m}", r.status));
        }
    }
    assert!(
        wrong.is_empty(),
        "expected -32602 for:\n    {}",
        wrong.join("\n    ")
    );
}

fn http_unknown_method(env: &Env) {
    let r = modern_post(
        env,
        "no/such",
        None,
        &modern_body(3, "no/such", Value::Null),
    );
    assert_http_error(&r, 404, &json!(3), -32601);
}

fn http_unknown_notification(env: &Env) {
    let body = json!({"jsonrpc": "2.0", "method": "notifications/nonsense", "params": modern(Value::Null)});
    let r = modern_post(
        env,
        "notifications/nonsense",
        None,
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 202, "{}", r.body_text());
    assert!(
        r.body.is_empty(),
        "no body for a notification: {}",
        r.body_text()
    );
}

fn http_unsolicited_response(env: &Env) {
    let mut c = HttpClient::connect(env.port());
    let sid = c.initialize_legacy("2025-11-25");
    let r = c.post(
        &[
            JSON,
            ACCEPT,
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        br#"{"jsonrpc":"2.0","id":99,"result":{"action":"accept"}}"#,
    );
    assert_eq!(
        r.status,
        202,
        "a response is accepted (and ignored): {}",
        r.body_text()
    );
    assert!(r.body.is_empty(), "{}", r.body_text());
    let r = c.post(
        &modern_headers("tools/list", None),
        br#"{"jsonrpc":"2.0","id":99,"result":{}}"#,
    );
    assert_http_error(&r, 400, &Value::Null, -32600);
}

fn http_content_type(env: &Env, ct: Option<&str>) {
    let mut h = modern_headers("tools/list", None);
    h.retain(|(n, _)| *n != "Content-Type");
    if let Some(ct) = ct {
        h.push(("Content-Type", ct));
    }
    let mut c = HttpClient::connect(env.port());
    let r = c.post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 415, "{}", r.body_text());
}

fn http_wrong_accept(env: &Env) {
    let mut h = modern_headers("tools/list", None);
    h.retain(|(n, _)| *n != "Accept");
    h.push(("Accept", "text/html, application/xml"));
    let r = HttpClient::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 406, "{}", r.body_text());
}

fn http_missing_accept(env: &Env) {
    // MCP puts the Accept requirement on the client and does not say what a server does without
    // one; RFC 9110 §12.5.1: no Accept header means any media type is acceptable. So the request
    // is served, with a JSON body.
    let mut h = modern_headers("tools/call", Some("echo"));
    h.retain(|(n, _)| *n != "Accept");
    let r = HttpClient::connect(env.port()).post(
        &h,
        &modern_body(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "a"}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.json()["result"]["content"][0]["text"], "a");
}

fn http_origin(env: &Env, origin: &str) {
    let mut h = modern_headers("tools/list", None);
    h.push(("Origin", origin));
    let r = HttpClient::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 403, "{}", r.body_text());
    assert!(r.header("access-control-allow-origin").is_none());
}

fn http_foreign_host(env: &Env) {
    let mut h = modern_headers("tools/list", None);
    h.push(("Host", "rebind.attacker.example"));
    let r = HttpClient::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 403, "{}", r.body_text());
}

fn http_missing_host(env: &Env) {
    // RFC 9112 §3.2: a server MUST respond with 400 to an HTTP/1.1 request without Host.
    let mut c = HttpClient::connect(env.port());
    let body = modern_body(1, "tools/list", Value::Null);
    let mut bytes = format!(
        "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/list\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    c.send_raw(&bytes);
    let r = c.read_response();
    assert_eq!(r.status, 400, "{}", r.body_text());
}

fn http_duplicate_host(env: &Env) {
    // RFC 9112 §3.2: ... and to any request with more than one Host header field line.
    let mut h = modern_headers("tools/list", None);
    h.push(("Host", "127.0.0.1"));
    h.push(("Host", "localhost"));
    let r = HttpClient::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 400, "{}", r.body_text());
}

fn http_unknown_sessions(env: &Env) {
    let long = "ab".repeat(1000);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let mut c = HttpClient::connect(env.port());
    for sid in [
        "00ffffffffffffffffffffffffffffffff",
        "7fffffffffffffffffffffffffffffffff",
        "zz",
        "0",
        long.as_str(),
    ] {
        let r = c.post(&legacy_headers(sid, "2025-11-25"), body.as_bytes());
        assert_eq!(r.status, 404, "session {sid:.20}: {}", r.body_text());
    }
}

fn http_deleted_session(env: &Env) {
    let mut c = HttpClient::connect(env.port());
    let sid = c.initialize_legacy("2025-11-25");
    c.send("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"");
    assert_eq!(c.read_response().status, 204);
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "x"}}});
    let r = c.post(
        &legacy_headers(&sid, "2025-11-25"),
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 404, "{}", r.body_text());
    c.send(
        "GET",
        "/mcp",
        &[("Accept", "text/event-stream"), ("Mcp-Session-Id", &sid)],
        b"",
    );
    assert_eq!(c.read_response().status, 404);
    c.send("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"");
    assert_eq!(c.read_response().status, 404);
}

fn http_no_session(env: &Env) {
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    let r = HttpClient::connect(env.port()).post(
        &[JSON, ACCEPT, ("MCP-Protocol-Version", "2025-11-25")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", r.body_text());
}

fn http_bad_version_header(env: &Env) {
    let mut h = modern_headers("tools/list", None);
    h.retain(|(n, _)| *n != "MCP-Protocol-Version");
    h.push(("MCP-Protocol-Version", "banana"));
    let r = HttpClient::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 400, "{}", r.body_text());
    assert_eq!(r.json()["error"]["code"], -32022);
}

fn http_wrong_method_and_path(env: &Env) {
    let mut c = HttpClient::connect(env.port());
    c.send("PUT", "/mcp", &[JSON], b"{}");
    let r = c.read_response();
    assert_eq!(r.status, 405);
    assert!(r.header("allow").is_some(), "405 names the allowed methods");
    c.send("GET", "/mcp/../../etc/passwd", &[], b"");
    assert_eq!(c.read_response().status, 404);
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
}

fn http_absolute_form(env: &Env) {
    // RFC 9112 §3.2.2: a server MUST accept the absolute form of the request target.
    let mut c = HttpClient::connect(env.port());
    let target = format!("http://127.0.0.1:{}/health", env.port());
    c.send("GET", &target, &[], b"");
    let r = c.read_response();
    assert_eq!(r.status, 200, "{}", r.body_text());
}

fn http_refused(env: &Env, bytes: &[u8], statuses: &[u16]) {
    let mut c = HttpClient::connect(env.port());
    let _ = c.write(bytes);
    c.expect_refusal(statuses);
}

fn http_oversize_content_length(env: &Env) {
    // Refused on the head alone: the body is never sent.
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
        HTTP_MAX_BODY + 1
    );
    http_refused(env, head.as_bytes(), &[413]);
    // At the limit exactly it is read (and answered as the JSON-RPC it is).
    let text = "x".repeat(HTTP_MAX_BODY - 400);
    let mut body = modern_body(
        1,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": text}}),
    );
    let pad = HTTP_MAX_BODY - body.len();
    body.extend(std::iter::repeat_n(b' ', pad));
    assert_eq!(body.len(), HTTP_MAX_BODY);
    let r = modern_post(env, "tools/call", Some("echo"), &body);
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(
        r.json()["result"]["content"][0]["text"]
            .as_str()
            .map(str::len),
        Some(text.len())
    );
}

fn http_oversize_chunked(env: &Env) {
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
        HTTP_MAX_BODY + 1
    );
    http_refused(env, head.as_bytes(), &[413]);
    // Many small chunks adding up to more than the limit.
    let mut c = HttpClient::connect(env.port());
    let mut bytes =
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for _ in 0..(HTTP_MAX_BODY / 1000 + 1) {
        bytes.extend_from_slice(format!("{:x}\r\n", 1000).as_bytes());
        bytes.extend_from_slice(&[b' '; 1000]);
        bytes.extend_from_slice(b"\r\n");
    }
    let _ = c.write(&bytes);
    c.expect_refusal(&[413]);
}

fn http_oversize_without_expect(env: &Env) {
    // A plain client (no `Expect: 100-continue`, as Python's urllib) writes its whole over-limit
    // body before it reads. The server answers 413 on the head and lingers, reading and
    // discarding the rest, so the client's write is not cut by a reset and the 413 arrives.
    let len = 64 * HTTP_MAX_BODY;
    let mut bytes = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {len}\r\n\r\n"
    )
    .into_bytes();
    bytes.resize(bytes.len() + len, b' ');
    let mut c = HttpClient::connect(env.port());
    c.write(&bytes)
        .unwrap_or_else(|e| panic!("the body was cut off ({e}): no lingering close"));
    c.expect_refusal(&[413]);
}

fn http_oversize_expect_continue(env: &Env) {
    // The client waits for 100 Continue before sending its body: it must get 413 instead.
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        10 * HTTP_MAX_BODY
    );
    let mut c = HttpClient::connect(env.port());
    c.send_raw(head.as_bytes());
    let (status, _) = c.try_head().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 413, "no 100 Continue for a body that is too large");
}

fn http_too_many_headers(env: &Env) {
    let mut bytes = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n".to_vec();
    for i in 0..(HTTP_MAX_HEADERS + 4) {
        bytes.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
    }
    bytes.extend_from_slice(b"\r\n");
    http_refused(env, &bytes, &[431]);
}

fn http_oversize_head(env: &Env) {
    let long = "v".repeat(HTTP_MAX_HEAD + 100);
    let bytes = format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: {long}\r\n\r\n");
    http_refused(env, bytes.as_bytes(), &[431]);
    // A head that never ends is refused once it passes the limit, not buffered forever.
    let endless = format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Endless: {long}");
    http_refused(env, endless.as_bytes(), &[431]);
    // A long request line too.
    let path = "/".repeat(HTTP_MAX_HEAD + 100);
    http_refused(
        env,
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes(),
        &[431, 414],
    );
}

fn http_bad_content_length(env: &Env) {
    // RFC 9112 §6.3: Content-Length = 1*DIGIT; anything else is an unrecoverable framing error:
    // 400 and the connection closed.
    let mut wrong = Vec::new();
    for cl in ["abc", "-1", "1, 2", "+2", "0x2", "2.0"] {
        let bytes = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {cl}\r\n\r\n{{}}"
        );
        let mut c = HttpClient::connect(env.port());
        let _ = c.write(bytes.as_bytes());
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| c.expect_refusal(&[400]))) {
            wrong.push(format!("Content-Length {cl:?}: {}", panic_text(p)));
        }
    }
    assert!(wrong.is_empty(), "\n    {}", wrong.join("\n    "));
}

fn http_content_length_overflow(env: &Env) {
    http_refused(
        env,
        b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
        &[400, 413],
    );
}

/// The request timeout passes: 408, then the connection closes.
fn expect_408(c: &mut HttpClient, started: Instant) {
    c.stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let r = c.expect_refusal(&[408]);
    let took = started.elapsed();
    let timeout = Duration::from_millis(HTTP_REQUEST_TIMEOUT_MS);
    assert!(
        took >= timeout - Duration::from_millis(50),
        "408 before the timeout: {took:?}"
    );
    assert!(
        took < timeout + Duration::from_millis(2500),
        "408 too late: {took:?}"
    );
    drop(r);
}

fn http_slowloris_head(env: &Env) {
    let mut c = HttpClient::connect(env.port());
    let started = Instant::now();
    c.send_raw(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl");
    expect_408(&mut c, started);
}

fn http_slowloris_trickle(env: &Env) {
    // One byte every 100 ms: never idle, never complete. The timeout counts from the first byte,
    // so the server must cut the trickle (answer or hang up) once the request timeout passes.
    let mut c = HttpClient::connect(env.port());
    let started = Instant::now();
    let mut bytes = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        .iter()
        .copied()
        .chain(std::iter::repeat(b'a'));
    let timeout = Duration::from_millis(HTTP_REQUEST_TIMEOUT_MS);
    let deadline = started + timeout + Duration::from_secs(3);
    let cut = loop {
        if Instant::now() >= deadline {
            break None;
        }
        let byte = [bytes.next().unwrap_or(b'a')];
        let wrote = c.write(&byte).is_ok();
        c.stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .ok();
        match c.reader.fill_buf() {
            // An answer, or the connection closed (EOF or reset).
            Ok(_) => break Some(started.elapsed()),
            Err(e) if is_reset(&e) => break Some(started.elapsed()),
            Err(_) if !wrote => break Some(started.elapsed()),
            Err(_) => {}
        }
    };
    let took = cut.unwrap_or_else(|| {
        panic!(
            "the server let a request trickle in for {:?} with a {timeout:?} request timeout",
            started.elapsed()
        )
    });
    assert!(
        took < timeout + Duration::from_millis(1500),
        "the trickle was cut only after {took:?} (request timeout {timeout:?})"
    );
    // What cut it is the 408, then the close.
    expect_408(&mut c, started);
}

fn http_slowloris_body(env: &Env) {
    let mut c = HttpClient::connect(env.port());
    let started = Instant::now();
    c.send_raw(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 200\r\n\r\n{\"jsonrpc\":");
    expect_408(&mut c, started);
}

fn http_half_close_mid_request(env: &Env) {
    let mut c = HttpClient::connect(env.port());
    c.send_raw(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"jsonrpc\":");
    c.stream.shutdown(Shutdown::Write).expect("shutdown");
    // The request can never complete: the server closes (a 400 first is fine too).
    c.stream.set_read_timeout(Some(Duration::from_secs(3))).ok();
    let mut got = Vec::new();
    match c.reader.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if is_reset(&e) => {}
        Err(e) => panic!("not closed within 3 s: {e}"),
    }
    if !got.is_empty() {
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.starts_with("HTTP/1.1 400 ") || text.starts_with("HTTP/1.1 408 "),
            "{text:?}"
        );
    }
}

fn http_half_close_in_flight(env: &Env) {
    let mut c = HttpClient::connect(env.port());
    c.send(
        "POST",
        "/mcp",
        &modern_headers("tools/call", Some("sleep")),
        &modern_body(
            1,
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 200}}),
        ),
    );
    c.stream.shutdown(Shutdown::Write).expect("shutdown");
    let r = c.read_response();
    assert_eq!(r.status, 200, "{}", r.body_text());
    assert_eq!(r.json()["result"]["content"][0]["text"], "slept 200 ms");
    c.expect_closed(Duration::from_secs(3));
}

/// The connections open and the requests counted on a case's own server before an attack.
fn before_reset(env: &Env) -> (u64, Metrics) {
    let m = Metrics::scrape(env.metrics_port());
    (m.value("ringmcp_connections_open"), m)
}

/// After the attack's connections were reset: the server has forgotten them and runs nothing.
fn forgotten(env: &Env, open: u64, within: Duration) -> Metrics {
    let (after, ok) = metrics_until(env.metrics_port(), within, |m| {
        m.value("ringmcp_inflight_requests") == 0 && m.value("ringmcp_connections_open") == open
    });
    assert!(
        ok,
        "after the resets: {} in flight, {} connections open ({open} before the attack)",
        after.value("ringmcp_inflight_requests"),
        after.value("ringmcp_connections_open")
    );
    after
}

fn http_reset_mid_request(env: &Env) {
    let (open, before) = before_reset(env);
    let c = HttpClient::connect(env.port());
    let _ = (&c.stream)
        .write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{");
    reset(&c.stream);
    drop(c);
    let c = HttpClient::connect(env.port());
    let _ = (&c.stream).write_all(b"GET /heal");
    reset(&c.stream);
    drop(c);
    let after = forgotten(env, open, Duration::from_secs(3));
    assert_eq!(
        after.requests(),
        before.requests(),
        "a request ran from a request cut by a reset"
    );
}

fn http_reset_in_flight(env: &Env) {
    let (open, _) = before_reset(env);
    let mut c = HttpClient::connect(env.port());
    let mut body: Value = serde_json::from_slice(&modern_body(
        1,
        "tools/call",
        json!({"name": "progress", "arguments": {"steps": 100, "delay_ms": 5}}),
    ))
    .expect("json");
    body["params"]["_meta"]["progressToken"] = json!("p");
    c.send(
        "POST",
        "/mcp",
        &modern_headers("tools/call", Some("progress")),
        body.to_string().as_bytes(),
    );
    let (status, _) = c.try_head().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200);
    reset(&c.stream);
    drop(c);
    let c = HttpClient::connect(env.port());
    let bytes = c.request_bytes(
        "POST",
        "/mcp",
        &modern_headers("tools/call", Some("sleep")),
        &modern_body(
            2,
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 3000}}),
        ),
    );
    let _ = (&c.stream).write_all(&bytes);
    let (m, running) = metrics_until(env.metrics_port(), Duration::from_secs(3), |m| {
        m.value("ringmcp_inflight_requests") >= 1
    });
    assert!(
        running,
        "the sleep never ran: {} in flight",
        m.value("ringmcp_inflight_requests")
    );
    let reset_at = Instant::now();
    reset(&c.stream);
    drop(c);
    // Answers to a vanished peer go nowhere: the requests are cancelled, not run out.
    forgotten(env, open, Duration::from_secs(5));
    assert!(
        reset_at.elapsed() < Duration::from_millis(1500),
        "the request of a reset connection ran on for {:?} instead of being cancelled",
        reset_at.elapsed()
    );
}

fn http_after_close(env: &Env) {
    let mut c = HttpClient::connect(env.port());
    let mut h = modern_headers("tools/list", None);
    h.push(("Connection", "close"));
    let r = c.post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 200);
    assert!(
        r.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close")),
        "{:?}",
        r.headers
    );
    c.expect_closed(Duration::from_secs(3));
    // Nothing more is served on it.
    let bytes = c.request_bytes(
        "POST",
        "/mcp",
        &modern_headers("tools/list", None),
        &modern_body(2, "tools/list", Value::Null),
    );
    let _ = c.write(&bytes);
    c.expect_closed(Duration::from_secs(1));
}

fn http_pipeline_flood(env: &Env) {
    // One slow request, then far more pipelined requests than the 64 a connection holds decoded,
    // all in one write from a thread of their own. Nothing is refused: the connection is not read
    // while its queue is full, and every request is answered, in order.
    const DEPTH: i64 = 1000;
    let mut c = HttpClient::connect(env.port());
    let mut bytes = c.request_bytes(
        "POST",
        "/mcp",
        &modern_headers("tools/call", Some("sleep")),
        &modern_body(
            0,
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 300}}),
        ),
    );
    for i in 1..=DEPTH {
        bytes.extend(c.request_bytes(
            "POST",
            "/mcp",
            &modern_headers("tools/list", None),
            &modern_body(i, "tools/list", Value::Null),
        ));
    }
    let mut writer = c.stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || writer.write_all(&bytes));
    for i in 0..=DEPTH {
        let r = c.read_response();
        assert_eq!(r.status, 200, "request {i}: {}", r.body_text());
        assert_eq!(r.json()["id"], i, "answers in request order");
    }
    sender
        .join()
        .expect("writer thread")
        .expect("every request written");
    let r = c.post(
        &modern_headers("tools/list", None),
        &modern_body(DEPTH + 1, "tools/list", Value::Null),
    );
    assert_eq!(r.status, 200, "the connection serves on");
}

fn http_sse_never_reads(env: &Env) {
    // A 2024-11-05 HTTP+SSE session whose stream is never read, with answers posted to it.
    let mut stream = HttpClient::on(small_rcvbuf_connect(env.port()), env.port());
    stream.send("GET", "/sse", &[("Accept", "text/event-stream")], b"");
    let (status, _) = stream.try_head().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200);
    let first = stream
        .try_chunk()
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("endpoint event");
    let first = String::from_utf8_lossy(&first).into_owned();
    let path = first
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no endpoint in {first:?}"))
        .to_owned();
    let mut poster = HttpClient::connect(env.port());
    let post = |poster: &mut HttpClient, body: Value| {
        poster.send("POST", &path, &[JSON], body.to_string().as_bytes());
        poster.read_response().status
    };
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2024-11-05", "capabilities": {},
        "clientInfo": {"name": "hostile", "version": "1"}}});
    assert_eq!(post(&mut poster, init), 202);
    let text = "s".repeat(48_000);
    let mut gone = false;
    for i in 1..=400 {
        let status = post(
            &mut poster,
            json!({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                   "params": {"name": "echo", "arguments": {"text": text}}}),
        );
        if status == 404 {
            gone = true;
            break;
        }
        assert_eq!(status, 202);
    }
    assert!(
        gone,
        "19 MB of answers to a stream nobody reads and the session is still there"
    );
    assert!(
        env.wait_log("does not read", Duration::from_secs(5))
            .is_some(),
        "no warning naming the dropped connection"
    );
    // The stream's connection is dropped (after whatever the kernel had buffered).
    stream
        .stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .ok();
    let mut sink = Vec::new();
    match stream.reader.read_to_end(&mut sink) {
        Ok(_) => {}
        Err(e) if is_reset(&e) => {}
        Err(e) => panic!("the stream's connection was not dropped: {e}"),
    }
}

fn http_rate_limit(env: &Env) {
    // --rate-limit-rps 1 --rate-limit-burst 2 per client address.
    let mut c = HttpClient::connect(env.port());
    let mut statuses = Vec::new();
    let mut limited = None;
    for i in 0..5 {
        let r = c.post(
            &modern_headers("tools/list", None),
            &modern_body(i, "tools/list", Value::Null),
        );
        statuses.push(r.status);
        if r.status == 429 {
            limited = Some(r);
        }
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    assert!(statuses[2..].iter().all(|&s| s == 429), "{statuses:?}");
    let r = limited.expect("a 429");
    let retry: u64 = r
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without a numeric Retry-After: {:?}", r.headers));
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // A limited client's probes still pass: a balancer's health checks all come from one
    // address, and a limit on them would take the node out of rotation.
    for _ in 0..4 {
        c.send("GET", "/ready", &[], b"");
        let ready = c.try_response().expect("an answer to GET /ready");
        assert_eq!(ready.status, 200, "probes are not rate limited");
    }
    let m = r.json();
    assert_eq!(m["error"]["code"], -32000, "{m}");
    assert!(
        m["error"]["data"]["retryAfterMs"]
            .as_u64()
            .is_some_and(|ms| ms > 0),
        "{m}"
    );
    // After the advertised wait the client is served again.
    std::thread::sleep(Duration::from_millis(
        m["error"]["data"]["retryAfterMs"].as_u64().unwrap_or(1000) + 50,
    ));
    let r = c.post(
        &modern_headers("tools/list", None),
        &modern_body(9, "tools/list", Value::Null),
    );
    assert_eq!(r.status, 200, "{}", r.body_text());
}
