//! The hostile-input matrix on stdio: malformed and oversized lines, and stdin closed at the
//! wrong moment. Every case runs a server of its own and checks that it still answers (or exits
//! cleanly) afterwards. This file owns the stdio case table and bodies only; the runner is
//! `tests/hostile/mod.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
// The hostile cases name it `http_client`; it is common's HTTP client.
use common::http as http_client;
#[macro_use]
#[path = "hostile/mod.rs"]
mod hostile;

use common::{text_of, Client, Server, TIMEOUT};
use hostile::{assert_error, Case, Env, Transport, QUIET};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::time::Duration;

/// The matrix had this many stdio cases when it was split by transport; it may only grow.
const MIN_CASES: usize = 8;

fn main() -> ExitCode {
    hostile::main(Transport::Stdio, cases(), MIN_CASES, &[])
}

fn cases() -> Vec<Case> {
    vec![
        case!("stdio/malformed-json", Own, |_| stdio_error(
            &[],
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":}\n",
            Value::Null,
            -32700
        )),
        case!("stdio/invalid-utf8", Own, |_| stdio_error(
            &[],
            b"\xc3\x28\xff\n",
            Value::Null,
            -32700
        )),
        case!("stdio/nul-bytes", Own, |_| stdio_error(
            &[],
            b"\x00\x00\x00\n",
            Value::Null,
            -32700
        )),
        case!("stdio/oversize-line", Own, |_| stdio_error(
            &["--max-message-bytes", "1024"],
            &[
                &b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"x\":\""[..],
                &b"y".repeat(5000),
                b"\"}\n"
            ]
            .concat(),
            Value::Null,
            -32600
        )),
        case!("stdio/batch-on-2025-11-25", Own, |_| stdio_error(
            &[],
            b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n",
            Value::Null,
            -32600
        )),
        case!(
            "stdio/unknown-notification-and-unsent-response-silent",
            Own,
            stdio_silent
        ),
        case!(
            "stdio/stdin-closed-with-request-in-flight",
            Own,
            stdio_close_in_flight
        ),
        case!("stdio/stdin-closed-mid-line", Own, stdio_close_mid_line),
    ]
}

fn stdio_still_echoes(c: &mut Client) {
    let r = c.call(
        "after",
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "still here"}}),
    );
    assert_eq!(text_of(&r), "still here");
}

fn stdio_error(extra: &[&str], bytes: &[u8], id: Value, code: i64) {
    let (mut s, mut c) = Server::stdio(extra);
    c.initialize("2025-11-25");
    c.send_raw(bytes);
    let m = c.next(TIMEOUT).expect("an answer");
    assert_error(&m, &id, code);
    stdio_still_echoes(&mut c);
    assert_eq!(s.child.try_wait().ok().flatten(), None, "still running");
    c.close_write();
    assert_eq!(s.wait_exit(Duration::from_secs(5)), Some(0));
}

fn stdio_silent(_: &Env) {
    let (_s, mut c) = Server::stdio(&[]);
    c.initialize("2025-11-25");
    c.send_raw(b"{\"jsonrpc\":\"2.0\",\"method\":\"no/such/notification\"}\n");
    c.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":77,\"result\":{}}\n");
    c.send_raw(b"\n   \n");
    c.assert_silent(QUIET);
    stdio_still_echoes(&mut c);
}

fn stdio_close_in_flight(_: &Env) {
    let (mut s, mut c) = Server::stdio(&[]);
    c.initialize("2025-11-25");
    c.request(
        1,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 300}}),
    );
    c.close_write();
    let r = c.response(1);
    assert_eq!(text_of(&r["result"]), "slept 300 ms");
    assert_eq!(s.wait_exit(Duration::from_secs(5)), Some(0));
}

fn stdio_close_mid_line(_: &Env) {
    let (mut s, mut c) = Server::stdio(&[]);
    c.initialize("2025-11-25");
    c.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/ca");
    c.close_write();
    assert_eq!(s.wait_exit(Duration::from_secs(5)), Some(0));
    // Whatever was written is whole JSON (`next` fails on anything else); at most a parse error.
    while let Some(m) = c.next(Duration::from_millis(100)) {
        assert_error(&m, &Value::Null, -32700);
    }
}
