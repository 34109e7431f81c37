//! The hostile-input matrix on TCP (newline-delimited JSON-RPC): malformed, oversized, slow,
//! half-open, reset and flooding clients. Every case sends its input on a connection of its own
//! and asserts the outcome that JSON-RPC 2.0, MCP and docs/SECURITY.md prescribe; the runner
//! (`tests/hostile/mod.rs`) checks a bystander of the case's own before and after it. This file
//! owns the TCP case table and bodies only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
// The hostile cases name it `http_client`; it is common's HTTP client.
use common::http as http_client;
#[path = "common/lines.rs"]
mod lines;
#[macro_use]
#[path = "hostile/mod.rs"]
mod hostile;

use common::{modern, modern_meta, reset, small_rcvbuf_connect};
use hostile::{
    assert_error, metrics_until, Case, Env, Metrics, Transport, MAX_QUEUED, QUIET,
    TCP_MAX_INFLIGHT, TCP_MAX_MESSAGE, WRITE_STALL_SECS,
};
use lines::{echo_line, End, Lines};
use serde_json::{json, Value};
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// The matrix had this many TCP cases when it was split by transport; it may only grow.
const MIN_CASES: usize = 50;

/// The cases the memory check runs, in order, on a server of its own.
const MEMORY: &[&str] = &[
    "tcp/deep-nesting-100k-open-brackets",
    "tcp/deep-nesting-50k-balanced-batch",
    "tcp/deep-nesting-in-arguments",
    "tcp/string-just-under-message-limit",
    "tcp/string-just-over-message-limit",
    "tcp/oversize-line-10x-in-pieces",
    "tcp/duplicate-ids-in-flight",
    "tcp/flood-beyond-max-inflight",
    "tcp/half-close-with-request-in-flight",
    "tcp/half-close-mid-line",
    "tcp/reset-mid-line",
    "tcp/reset-with-request-in-flight",
    "tcp/connection-churn",
    "tcp/client-never-reads",
];

fn main() -> ExitCode {
    hostile::main(Transport::Tcp, cases(), MIN_CASES, MEMORY)
}

fn cases() -> Vec<Case> {
    vec![
        case!("tcp/malformed-json", Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":}\n",
            Value::Null,
            -32700
        )),
        case!("tcp/truncated-json", Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"\n",
            Value::Null,
            -32700
        )),
        case!("tcp/binary-garbage-line", Main, |e| tcp_error(
            e,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\n",
            Value::Null,
            -32700
        )),
        case!("tcp/invalid-utf8-outside-strings", Main, |e| tcp_error(
            e,
            b"\xff\xfe{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n",
            Value::Null,
            -32700
        )),
        case!("tcp/invalid-utf8-in-string-value", Main, |e| {
            tcp_error(e, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"\xc3\x28\"}}}\n", Value::Null, -32700)
        }),
        case!("tcp/invalid-utf8-in-unknown-member", Main, |e| {
            tcp_error(
                e,
                b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"x\":\"\xff\"}\n",
                Value::Null,
                -32700,
            )
        }),
        case!("tcp/nul-byte-after-message", Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\x00\n",
            Value::Null,
            -32700
        )),
        case!("tcp/raw-nul-inside-string", Main, |e| {
            tcp_error(e, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"a\x00b\"}}}\n", Value::Null, -32700)
        }),
        case!("tcp/escaped-nul-echoed", Main, tcp_escaped_nul),
        case!("tcp/empty-and-whitespace-lines", Main, tcp_blank_lines),
        case!("tcp/json-scalars-not-objects", Main, tcp_scalars),
        case!("tcp/deep-nesting-100k-open-brackets", Main, |e| {
            tcp_error(
                e,
                &[&b"["[..].repeat(100_000)[..], b"\n"].concat(),
                Value::Null,
                -32700,
            )
        }),
        case!(
            "tcp/deep-nesting-50k-balanced-batch",
            Main,
            tcp_deep_balanced
        ),
        case!("tcp/deep-nesting-in-arguments", Main, tcp_deep_arguments),
        case!("tcp/huge-number-id-1e400", Main, |e| {
            tcp_id_echoed_exactly(e, "1e400")
        }),
        case!("tcp/huge-integer-id-400-digits", Main, |e| {
            tcp_id_echoed_exactly(e, &"9".repeat(400))
        }),
        case!(
            "tcp/huge-number-argument-1e400",
            Main,
            tcp_huge_number_argument
        ),
        case!(
            "tcp/string-just-under-message-limit",
            Main,
            tcp_just_under_limit
        ),
        case!(
            "tcp/string-just-over-message-limit",
            Main,
            tcp_just_over_limit
        ),
        case!(
            "tcp/oversize-line-10x-in-pieces",
            Main,
            tcp_oversize_in_pieces
        ),
        case!(
            "tcp/tools-call-name-not-a-string",
            Main,
            tcp_name_not_string
        ),
        case!(
            "tcp/tools-call-arguments-not-an-object",
            Main,
            tcp_arguments_not_object
        ),
        case!(
            "tcp/tools-call-meta-not-an-object",
            Main,
            tcp_meta_not_object
        ),
        case!(
            "tcp/tools-call-modern-wrong-types",
            Main,
            tcp_modern_wrong_types
        ),
        case!("tcp/params-not-structured", Main, tcp_params_scalar),
        case!("tcp/params-positional-array", Main, tcp_params_positional),
        case!("tcp/tools-call-without-params", Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\"}\n",
            json!(3),
            -32602
        )),
        case!("tcp/id-of-wrong-type", Main, tcp_id_wrong_type),
        case!("tcp/null-id-on-request", Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}\n",
            Value::Null,
            -32600
        )),
        case!("tcp/jsonrpc-version-wrong", Main, tcp_jsonrpc_version),
        case!("tcp/method-not-a-string", Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":5}\n",
            json!(4),
            -32600
        )),
        case!("tcp/request-with-result-member", Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\",\"result\":{}}\n",
            json!(4),
            -32600
        )),
        case!("tcp/unknown-method", Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":\"u\",\"method\":\"no/such/method\"}\n",
            json!("u"),
            -32601
        )),
        case!(
            "tcp/unknown-notification-silent",
            Main,
            tcp_unknown_notification
        ),
        case!(
            "tcp/malformed-cancel-notifications-silent",
            Main,
            tcp_bad_cancel
        ),
        case!(
            "tcp/response-to-unsent-request-ignored",
            Main,
            tcp_unsolicited_responses
        ),
        case!("tcp/duplicate-ids-in-flight", Main, tcp_duplicate_ids),
        case!("tcp/flood-beyond-max-inflight", Main, tcp_inflight_flood),
        case!("tcp/batch-on-2025-11-25", Main, |e| tcp_error(
            e,
            b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n",
            Value::Null,
            -32600
        )),
        case!("tcp/batch-before-initialize", Main, tcp_batch_uninitialized),
        case!("tcp/empty-batch", Main, |e| tcp_error(
            e,
            b"[]\n",
            Value::Null,
            -32600
        )),
        case!(
            "tcp/batch-of-garbage-on-2025-03-26",
            Main,
            tcp_batch_garbage_2025_03_26
        ),
        case!("tcp/http-request-on-ndjson-port", Main, tcp_http_on_ndjson),
        case!(
            "tcp/half-close-with-request-in-flight",
            Main,
            tcp_half_close_in_flight
        ),
        case!("tcp/half-close-mid-line", Main, tcp_half_close_mid_line),
        case!("tcp/reset-mid-line", Own, tcp_reset_mid_line),
        case!("tcp/reset-with-request-in-flight", Own, tcp_reset_in_flight),
        case!("tcp/connection-churn", Main, tcp_churn),
        case!("tcp/client-never-reads", Main, tcp_never_reads),
        case!("tcp/client-reads-late", Main, tcp_reads_late),
        case!("tcp/rate-limit-exceeded", RateLimited, tcp_rate_limit),
    ]
}

/// Send `bytes` on an initialized session: one error response with `id` and `code`, then the
/// connection goes on.
fn tcp_error(env: &Env, bytes: &[u8], id: Value, code: i64) {
    let mut l = Lines::ready(env.port());
    l.send(bytes);
    let m = l.msg();
    assert_error(&m, &id, code);
    l.silent(Duration::from_millis(100));
    l.still_echoes();
}

fn tcp_escaped_nul(env: &Env) {
    let mut l = Lines::ready(env.port());
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"a\\u0000b\"}}}\n");
    let r = l.response(&json!(1));
    assert_eq!(r["result"]["content"][0]["text"], "a\u{0}b", "{r}");
}

fn tcp_blank_lines(env: &Env) {
    let mut l = Lines::ready(env.port());
    l.send(b"\n\n   \n\t\r\n\r\n \x0c\n");
    l.silent(QUIET);
    l.still_echoes();
}

fn tcp_scalars(env: &Env) {
    let mut l = Lines::ready(env.port());
    l.send(b"42\n\"ping\"\nnull\ntrue\n");
    for _ in 0..4 {
        assert_error(&l.msg(), &Value::Null, -32600);
    }
    l.still_echoes();
}

fn tcp_deep_balanced(env: &Env) {
    // Valid JSON, 50,000 levels deep: a one-element batch whose element is not a request. Batches
    // are not part of 2025-11-25, so the whole line is an invalid request.
    let line = [b"[".repeat(50_000), b"]".repeat(50_000), b"\n".to_vec()].concat();
    tcp_error(env, &line, Value::Null, -32600);
}

fn tcp_deep_arguments(env: &Env) {
    let mut l = Lines::ready(env.port());
    let line = [
        &b"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"x\",\"deep\":"[..],
        &b"[".repeat(20_000),
        &b"]".repeat(20_000),
        b"}}}\n",
    ]
    .concat();
    l.send(&line);
    let r = l.response(&json!(4));
    // Either refused as invalid params or answered (the extra argument is not in echo's schema);
    // never a crash.
    if r.get("error").is_some() {
        assert_error(&r, &json!(4), -32602);
    } else {
        assert!(r["result"].is_object(), "{r}");
    }
    l.still_echoes();
}

fn tcp_id_echoed_exactly(env: &Env, id: &str) {
    let mut l = Lines::ready(env.port());
    l.send(format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}\n").as_bytes());
    // Not parsed: serde_json without arbitrary precision cannot hold the number.
    let line = l.raw_line();
    assert!(
        line.contains(&format!("\"id\":{id},")) && line.contains("\"result\":{}"),
        "the id must come back exactly as sent: {line}"
    );
    l.still_echoes();
}

fn tcp_huge_number_argument(env: &Env) {
    let mut l = Lines::ready(env.port());
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":1e400}}}\n");
    let r = l.response(&json!(5));
    // Invalid params (-32602), or on 2025-11-25 a tool result with isError.
    if r.get("error").is_some() {
        assert_error(&r, &json!(5), -32602);
    } else {
        assert_eq!(r["result"]["isError"], true, "{r}");
    }
    l.still_echoes();
}

/// An echo request line of exactly `len` bytes (newline excluded).
fn echo_of_len(id: i64, len: usize) -> (Vec<u8>, usize) {
    let head = format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"text\":\"");
    let tail = "\"}}}";
    let n = len - head.len() - tail.len();
    let mut line = head.into_bytes();
    line.extend(std::iter::repeat_n(b'x', n));
    line.extend_from_slice(tail.as_bytes());
    assert_eq!(line.len(), len);
    line.push(b'\n');
    (line, n)
}

fn tcp_just_under_limit(env: &Env) {
    let mut l = Lines::ready(env.port());
    let (line, n) = echo_of_len(6, TCP_MAX_MESSAGE);
    l.send(&line);
    let r = l.response(&json!(6));
    let text = r["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(text.len(), n, "a message of exactly the limit is served");
    assert!(text.bytes().all(|b| b == b'x'));
    l.still_echoes();
}

fn tcp_just_over_limit(env: &Env) {
    let (line, _) = echo_of_len(7, TCP_MAX_MESSAGE + 1);
    tcp_error(env, &line, Value::Null, -32600);
}

fn tcp_oversize_in_pieces(env: &Env) {
    let mut l = Lines::ready(env.port());
    let (line, _) = echo_of_len(8, 10 * TCP_MAX_MESSAGE);
    for piece in line.chunks(64 * 1024) {
        l.send(piece);
    }
    assert_error(&l.msg(), &Value::Null, -32600);
    // Reported once; the rest of the line is skipped and the connection goes on.
    l.still_echoes();
}

fn tcp_params_each(env: &Env, params: &[&str], code: i64) {
    let mut l = Lines::ready(env.port());
    let mut wrong = Vec::new();
    for (i, p) in params.iter().enumerate() {
        l.send(
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{p}}}\n"
            )
            .as_bytes(),
        );
        let m = l.response(&json!(i));
        if m["error"]["code"] != json!(code) {
            wrong.push(format!("params {p}: {m}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "expected {code} for:\n    {}",
        wrong.join("\n    ")
    );
    l.still_echoes();
}

fn tcp_name_not_string(env: &Env) {
    tcp_params_each(
        env,
        &[
            r#"{"name":42,"arguments":{"text":"x"}}"#,
            r#"{"name":null,"arguments":{"text":"x"}}"#,
            r#"{"name":{"n":"echo"},"arguments":{"text":"x"}}"#,
            r#"{"name":["echo"],"arguments":{"text":"x"}}"#,
            r#"{"name":true,"arguments":{"text":"x"}}"#,
            r#"{"arguments":{"text":"x"}}"#,
        ],
        -32602,
    );
}

fn tcp_arguments_not_object(env: &Env) {
    tcp_params_each(
        env,
        &[
            r#"{"name":"echo","arguments":"text"}"#,
            r#"{"name":"echo","arguments":["x"]}"#,
            r#"{"name":"echo","arguments":5}"#,
            r#"{"name":"echo","arguments":true}"#,
        ],
        -32602,
    );
}

fn tcp_meta_not_object(env: &Env) {
    tcp_params_each(
        env,
        &[
            r#"{"name":"echo","arguments":{"text":"x"},"_meta":5}"#,
            r#"{"name":"echo","arguments":{"text":"x"},"_meta":"m"}"#,
            r#"{"name":"echo","arguments":{"text":"x"},"_meta":[1]}"#,
            r#"{"name":"echo","arguments":{"text":"x"},"_meta":true}"#,
            r#"{"name":"echo","arguments":{"text":"x"},"_meta":{"progressToken":{"a":1}}}"#,
        ],
        -32602,
    );
}

fn tcp_modern_wrong_types(env: &Env) {
    // Stateless 2026-07-28 requests on a fresh connection: the same type errors, plus _meta keys
    // of the wrong type.
    let mut l = Lines::connect(env.port());
    let mut meta = modern_meta();
    let bad: Vec<Value> = vec![
        json!({"name": 42, "arguments": {"text": "x"}, "_meta": meta.clone()}),
        json!({"name": "echo", "arguments": "x", "_meta": meta.clone()}),
        json!({"name": "echo", "arguments": {"text": "x"}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": 20260728,
            "io.modelcontextprotocol/clientCapabilities": {}}}),
        json!({"name": "echo", "arguments": {"text": "x"}, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": "all"}}),
        {
            meta["io.modelcontextprotocol/logLevel"] = json!(7);
            json!({"name": "echo", "arguments": {"text": "x"}, "_meta": meta.clone()})
        },
    ];
    for (i, params) in bad.iter().enumerate() {
        l.send_json(&json!({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params}));
        let m = l.msg();
        assert_error(&m, &json!(i), -32602);
    }
    l.send_json(
        &json!({"jsonrpc": "2.0", "id": "ok", "method": "tools/call",
        "params": modern(json!({"name": "echo", "arguments": {"text": "fine"}}))}),
    );
    let r = l.response(&json!("ok"));
    assert_eq!(r["result"]["content"][0]["text"], "fine", "{r}");
}

fn tcp_params_scalar(env: &Env) {
    let mut l = Lines::ready(env.port());
    for (i, p) in ["3", "\"echo\"", "true"].iter().enumerate() {
        l.send(
            format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{p}}}\n"
            )
            .as_bytes(),
        );
        assert_error(&l.msg(), &json!(i), -32600);
    }
    l.still_echoes();
}

fn tcp_params_positional(env: &Env) {
    // MCP defines params by name (an object); by-position params do not fit tools/call.
    tcp_params_each(env, &[r#"["echo",{"text":"positional"}]"#, "[]"], -32602);
}

fn tcp_id_wrong_type(env: &Env) {
    let mut l = Lines::ready(env.port());
    for id in ["{\"a\":1}", "[1]", "true", "false"] {
        l.send(format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}\n").as_bytes());
        let m = l.msg();
        assert_error(&m, &Value::Null, -32600);
    }
    l.still_echoes();
}

fn tcp_jsonrpc_version(env: &Env) {
    let mut l = Lines::ready(env.port());
    let variants = [
        r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
        r#"{"id":2,"method":"ping"}"#,
        r#"{"jsonrpc":2.0,"id":3,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0 ","id":4,"method":"ping"}"#,
    ];
    for (i, v) in variants.iter().enumerate() {
        l.send(format!("{v}\n").as_bytes());
        assert_error(&l.msg(), &json!(i + 1), -32600);
    }
    l.still_echoes();
}

fn tcp_unknown_notification(env: &Env) {
    let mut l = Lines::ready(env.port());
    l.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"no/such/notification\",\"params\":{\"x\":1}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}\n");
    l.silent(QUIET);
    l.still_echoes();
}

fn tcp_bad_cancel(env: &Env) {
    let mut l = Lines::ready(env.port());
    // Well-formed notifications with useless params: never answered.
    l.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":{\"x\":1}}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":424242}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\"}\n");
    l.silent(QUIET);
    // Not a valid Request object at all (params must be structured): JSON-RPC 2.0 answers that
    // with -32600 and a null id even without an id (its example `{"method": 1, "params": "bar"}`).
    l.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":7}\n");
    assert_error(&l.msg(), &Value::Null, -32600);
    l.still_echoes();
}

fn tcp_unsolicited_responses(env: &Env) {
    let mut l = Lines::ready(env.port());
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"result\":{\"action\":\"accept\"}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":98,\"error\":{\"code\":-32603,\"message\":\"x\"}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}\n");
    l.silent(QUIET);
    l.still_echoes();
}

fn tcp_duplicate_ids(env: &Env) {
    let mut l = Lines::ready(env.port());
    let sleep = b"{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"sleep\",\"arguments\":{\"ms\":200}}}\n";
    l.send(&[&sleep[..], &sleep[..]].concat());
    let (a, b) = (l.response(&json!(5)), l.response(&json!(5)));
    // The second is refused at once; the first finishes.
    assert_error(&a, &json!(5), -32600);
    assert_eq!(b["result"]["content"][0]["text"], "slept 200 ms", "{b}");
    l.silent(QUIET);
    l.still_echoes();
}

fn tcp_inflight_flood(env: &Env) {
    let mut l = Lines::ready(env.port());
    let n = 3 * TCP_MAX_INFLIGHT;
    let mut bytes = Vec::new();
    for i in 0..n {
        bytes.extend_from_slice(
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"sleep\",\"arguments\":{{\"ms\":300}}}}}}\n")
                .as_bytes(),
        );
    }
    l.send(&bytes);
    let (mut ok, mut busy) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..n {
        let m = l.msg();
        let id = m["id"].as_u64().unwrap_or_else(|| panic!("bad id in {m}"));
        assert!(seen.insert(id), "two answers for id {id}");
        if m.get("error").is_some() {
            assert_error(&m, &json!(id), -32000);
            assert!(
                m["error"]["message"]
                    .as_str()
                    .is_some_and(|s| s.contains("in flight")),
                "{m}"
            );
            busy += 1;
        } else {
            assert_eq!(m["result"]["content"][0]["text"], "slept 300 ms", "{m}");
            ok += 1;
        }
    }
    assert_eq!(
        (ok, busy),
        (TCP_MAX_INFLIGHT, n - TCP_MAX_INFLIGHT),
        "--max-inflight {TCP_MAX_INFLIGHT}"
    );
    l.still_echoes();
}

fn tcp_batch_uninitialized(env: &Env) {
    let mut l = Lines::connect(env.port());
    let item =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": modern(Value::Null)});
    l.send(format!("[{item}]\n").as_bytes());
    assert_error(&l.msg(), &Value::Null, -32600);
    l.send(&echo_line(json!(2), "x"));
    // Not initialized: the session refuses, but answers.
    let r = l.response(&json!(2));
    assert!(r.get("error").is_some(), "{r}");
}

fn tcp_batch_garbage_2025_03_26(env: &Env) {
    // 2025-03-26 accepts batches: each invalid element gets its own -32600 in one array answer.
    let mut l = Lines::connect(env.port());
    l.initialize("2025-03-26");
    l.send(b"[1,{\"foo\":\"bar\"},{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}]\n");
    let m = l.msg();
    let items = m
        .as_array()
        .unwrap_or_else(|| panic!("a batch is answered by an array: {m}"));
    assert_eq!(
        items.len(),
        3,
        "two errors and the ping, none for the notification: {m}"
    );
    let errors: Vec<&Value> = items.iter().filter(|i| i.get("error").is_some()).collect();
    assert_eq!(errors.len(), 2, "{m}");
    for e in errors {
        assert_error(e, &Value::Null, -32600);
    }
    assert!(
        items
            .iter()
            .any(|i| i["id"] == "p" && i["result"] == json!({})),
        "{m}"
    );
    l.still_echoes();
}

fn tcp_http_on_ndjson(env: &Env) {
    let mut l = Lines::ready(env.port());
    l.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    // Two non-blank lines, two parse errors; the blank line is skipped.
    assert_error(&l.msg(), &Value::Null, -32700);
    assert_error(&l.msg(), &Value::Null, -32700);
    l.silent(Duration::from_millis(100));
    l.still_echoes();
}

fn tcp_half_close_in_flight(env: &Env) {
    let mut l = Lines::ready(env.port());
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"sleep\",\"arguments\":{\"ms\":200}}}\n");
    l.s.shutdown(Shutdown::Write).expect("shutdown");
    // The answer still comes, then the server closes its side.
    let r = l.response(&json!(1));
    assert_eq!(r["result"]["content"][0]["text"], "slept 200 ms", "{r}");
    let (rest, end) = l.until_end(Duration::from_secs(3));
    assert!(rest.is_empty(), "nothing else after the answer");
    assert_eq!(end, Some(End::Eof), "closed after answering");
}

fn tcp_half_close_mid_line(env: &Env) {
    let mut l = Lines::ready(env.port());
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/ca");
    l.s.shutdown(Shutdown::Write).expect("shutdown");
    let (lines, end) = l.until_end(Duration::from_secs(3));
    assert!(
        end.is_some(),
        "the server closes a connection whose peer is done"
    );
    for line in lines {
        let m: Value = serde_json::from_slice(&line)
            .unwrap_or_else(|e| panic!("invalid JSON {:?}: {e}", String::from_utf8_lossy(&line)));
        // An unterminated line at EOF may be reported as a parse error, nothing else.
        assert_error(&m, &Value::Null, -32700);
    }
}

fn tcp_reset_mid_line(env: &Env) {
    let mut l = Lines::ready(env.port());
    // A whole request but for its newline: were the reset taken for the end of the line, the
    // request would run and be counted.
    let half = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"half"}}}"#;
    let base = Metrics::scrape(env.metrics_port());
    let (open, received) = (
        base.value("ringmcp_connections_open"),
        base.value("ringmcp_received_bytes_total"),
    );
    l.send(half);
    // Reset only once the server holds the half line (each scrape adds its own request).
    let scrapes = std::cell::Cell::new(0u64);
    let (_, read) = metrics_until(env.metrics_port(), Duration::from_secs(3), |m| {
        scrapes.set(scrapes.get() + 1);
        let expected = received + half.len() as u64 + scrapes.get() * Metrics::REQUEST.len() as u64;
        m.value("ringmcp_received_bytes_total") >= expected
    });
    assert!(read, "the server never read the half line");
    reset(&l.s);
    drop(l);
    // The connection is forgotten, and the half line was never a request.
    let (after, closed) = metrics_until(env.metrics_port(), Duration::from_secs(3), |m| {
        m.value("ringmcp_connections_open") == open - 1
    });
    assert!(
        closed,
        "the reset connection is still open: {} open, {open} before the reset (with it)",
        after.value("ringmcp_connections_open")
    );
    assert_eq!(
        after.requests(),
        base.requests(),
        "a request ran from a line cut by a reset"
    );
    assert_eq!(after.value("ringmcp_inflight_requests"), 0);
}

fn tcp_reset_in_flight(env: &Env) {
    let mut l = Lines::ready(env.port());
    let open = Metrics::scrape(env.metrics_port()).value("ringmcp_connections_open");
    for i in 0..TCP_MAX_INFLIGHT {
        l.send(format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"sleep\",\"arguments\":{{\"ms\":3000}}}}}}\n").as_bytes());
    }
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"progress\",\"arguments\":{\"steps\":50,\"delay_ms\":5},\"_meta\":{\"progressToken\":\"p\"}}}\n");
    let (m, running) = metrics_until(env.metrics_port(), Duration::from_secs(3), |m| {
        m.value("ringmcp_inflight_requests") >= TCP_MAX_INFLIGHT as u64
    });
    assert!(
        running,
        "the sleeps never ran: {} in flight",
        m.value("ringmcp_inflight_requests")
    );
    let reset_at = Instant::now();
    reset(&l.s);
    drop(l);
    // The server forgets the connection and cancels its requests: they do not run out their
    // 3 s for a peer that is gone (and their answers go nowhere; the bystander sees none).
    let (after, forgotten) = metrics_until(env.metrics_port(), Duration::from_secs(5), |m| {
        m.value("ringmcp_inflight_requests") == 0 && m.value("ringmcp_connections_open") == open - 1
    });
    assert!(
        forgotten,
        "after the reset: {} in flight, {} connections open ({open} before, with it)",
        after.value("ringmcp_inflight_requests"),
        after.value("ringmcp_connections_open")
    );
    assert!(
        reset_at.elapsed() < Duration::from_millis(1500),
        "the requests of a reset connection ran on for {:?} instead of being cancelled",
        reset_at.elapsed()
    );
}

fn tcp_churn(env: &Env) {
    for i in 0..200 {
        let s = TcpStream::connect(("127.0.0.1", env.port())).expect("connect");
        match i % 4 {
            0 => {}
            1 => {
                let _ = (&s).write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n");
            }
            2 => {
                let _ = (&s).write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"meth");
                reset(&s);
            }
            _ => reset(&s),
        }
        drop(s);
    }
    // A new connection is served normally afterwards.
    let mut l = Lines::ready(env.port());
    l.still_echoes();
}

fn tcp_never_reads(env: &Env) {
    let mut l = Lines::on(small_rcvbuf_connect(env.port()));
    l.initialize("2025-11-25");
    // About 16 MB of answers asked for by a peer that reads none of them. Once its unsent answers
    // pass --pause-unsent-bytes the server reads no more of its requests, so the peer's own
    // writes stall (TCP flow control), and it is dropped only after the write-stall timeout.
    l.s.set_write_timeout(Some(Duration::from_secs(WRITE_STALL_SECS)))
        .expect("write timeout");
    let text = "r".repeat(200_000);
    let mut sent = 0;
    for i in 0..80 {
        if l.try_send(&echo_line(json!(i), &text)).is_err() {
            break;
        }
        sent += 1;
    }
    assert!(
        sent < 80,
        "flow control held the peer's writes up (it wrote all {sent} requests)"
    );
    let warned = env.wait_log("does not read", Duration::from_secs(4 * WRITE_STALL_SECS));
    assert!(
        warned.is_some(),
        "no warning naming the dropped connection (sent {sent} requests)"
    );
    let (lines, end) = l.until_end(Duration::from_secs(5));
    assert!(
        end.is_some(),
        "the connection of a peer that does not read is dropped"
    );
    assert!(
        lines.len() < sent,
        "dropped before everything was answered ({} of {sent})",
        lines.len()
    );
    // What did arrive is whole, valid answers.
    for (i, line) in lines.iter().enumerate() {
        let m: Value = serde_json::from_slice(line)
            .unwrap_or_else(|e| panic!("answer {i} is not valid JSON ({e}), {} bytes", line.len()));
        assert_eq!(m["id"], i, "answers in order");
        assert_eq!(
            m["result"]["content"][0]["text"].as_str().map(str::len),
            Some(200_000)
        );
    }
}

fn tcp_reads_late(env: &Env) {
    // A peer that writes 600 requests, about 24 MB of answers (24 times --max-queued-bytes, and
    // more than the kernel buffers on both sides), and reads nothing for a while. The server stops reading once the unsent answers pass
    // --pause-unsent-bytes, so the peer's writes wait on TCP flow control; once it reads, every
    // answer arrives, in order, and the connection serves on. (Before back-pressure it was
    // dropped at the queue limit.)
    let mut l = Lines::on(small_rcvbuf_connect(env.port()));
    l.initialize("2025-11-25");
    let text = "w".repeat(40_000);
    let n = 600;
    assert!(n * text.len() > 20 * MAX_QUEUED);
    let requests: Vec<u8> = (0..n).flat_map(|i| echo_line(json!(i), &text)).collect();
    let mut writer = l.s.try_clone().expect("clone");
    let sender = std::thread::spawn(move || writer.write_all(&requests));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !sender.is_finished(),
        "the server read 24 MB of requests whose answers nobody read"
    );
    for i in 0..n {
        let m = l.msg();
        assert_eq!(m["id"], i, "answers in order");
        assert_eq!(
            m["result"]["content"][0]["text"].as_str().map(str::len),
            Some(text.len()),
            "answer {i}"
        );
    }
    sender
        .join()
        .expect("writer thread")
        .expect("every request written");
    l.still_echoes();
}

fn tcp_rate_limit(env: &Env) {
    // --rate-limit-rps 2 --rate-limit-burst 3, per connection: initialize takes one token.
    let mut l = Lines::connect(env.port());
    l.initialize("2025-11-25");
    let mut bytes = Vec::new();
    for i in 1..=10 {
        bytes.extend_from_slice(
            format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"ping\"}}\n").as_bytes(),
        );
    }
    l.send(&bytes);
    let (mut ok, mut limited, mut wait_ms) = (0, 0, 0);
    for i in 1..=10 {
        let m = l.response(&json!(i));
        if m.get("error").is_some() {
            assert_error(&m, &json!(i), -32000);
            let retry = m["error"]["data"]["retryAfterMs"]
                .as_u64()
                .unwrap_or_else(|| panic!("no data.retryAfterMs in {m}"));
            assert!(retry > 0 && retry <= 1000, "{m}");
            wait_ms = wait_ms.max(retry);
            limited += 1;
        } else {
            assert_eq!(m["result"], json!({}), "{m}");
            assert_eq!(limited, 0, "a request after a refused one got through: {m}");
            ok += 1;
        }
    }
    assert!(
        (2..=3).contains(&ok),
        "burst 3 less initialize: {ok} served"
    );
    assert_eq!(ok + limited, 10);
    // A fresh connection has its own bucket.
    let mut other = Lines::connect(env.port());
    other.initialize("2025-11-25");
    other.still_echoes();
    // The limited client recovers once its bucket refills.
    std::thread::sleep(Duration::from_millis(wait_ms + 50));
    l.still_echoes();
}
