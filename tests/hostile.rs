//! The hostile-input matrix: malformed, oversized, slow, half-open, reset and flooding clients on
//! TCP (newline-delimited JSON-RPC), Streamable HTTP and stdio. Every case sends its input on a
//! connection of its own and asserts the outcome that JSON-RPC 2.0, MCP, HTTP/1.1 (RFC 9110/9112)
//! and docs/SECURITY.md prescribe. After every case a bystander client, connected before the
//! matrix began, must still get a correct `tools/call echo` answer. The servers must be alive at
//! the end and their resident memory must not have ballooned.
//!
//! Cases run one after another per transport (one `#[test]` per transport) and every failure is
//! collected, so that one run names every case the server gets wrong.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/http.rs"]
mod http_client;

use common::*;
use http_client::{modern_body, modern_headers, HttpResponse};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

// Limits the matrix servers run with (small, so that the cases are fast).
const TCP_MAX_MESSAGE: usize = 256 * 1024;
const TCP_MAX_INFLIGHT: usize = 4;
const MAX_QUEUED: usize = 1 << 20;
const HTTP_MAX_BODY: usize = 64 * 1024;
const HTTP_MAX_HEADERS: usize = 16;
const HTTP_MAX_HEAD: usize = 4096;
const HTTP_REQUEST_TIMEOUT_MS: u64 = 500;
/// How long a case waits for an answer it expects.
const READ: Duration = Duration::from_secs(5);
/// How long a case waits to be sure nothing comes.
const QUIET: Duration = Duration::from_millis(300);

// ------------------------------------------------------------------------------------------------
// The matrix
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    Tcp,
    Http,
    Stdio,
}

/// Which of a transport's servers a case attacks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    /// The server with small size/inflight/queue/timeout limits.
    Main,
    /// The server started with a rate limit.
    RateLimited,
    /// A stdio server of the case's own.
    Own,
}

struct Case {
    name: &'static str,
    transport: Transport,
    target: Target,
    run: fn(&Env),
}

macro_rules! case {
    ($name:literal, $transport:ident, $target:ident, $run:expr) => {
        Case {
            name: $name,
            transport: Transport::$transport,
            target: Target::$target,
            run: $run,
        }
    };
}

fn cases() -> Vec<Case> {
    vec![
        // ---- TCP, newline-delimited JSON-RPC ------------------------------------------------
        case!("tcp/malformed-json", Tcp, Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":}\n",
            Value::Null,
            -32700
        )),
        case!("tcp/truncated-json", Tcp, Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"\n",
            Value::Null,
            -32700
        )),
        case!("tcp/binary-garbage-line", Tcp, Main, |e| tcp_error(
            e,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 hello\n",
            Value::Null,
            -32700
        )),
        case!(
            "tcp/invalid-utf8-outside-strings",
            Tcp,
            Main,
            |e| tcp_error(
                e,
                b"\xff\xfe{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n",
                Value::Null,
                -32700
            )
        ),
        case!("tcp/invalid-utf8-in-string-value", Tcp, Main, |e| {
            tcp_error(e, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"\xc3\x28\"}}}\n", Value::Null, -32700)
        }),
        case!("tcp/invalid-utf8-in-unknown-member", Tcp, Main, |e| {
            tcp_error(
                e,
                b"{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"x\":\"\xff\"}\n",
                Value::Null,
                -32700,
            )
        }),
        case!("tcp/nul-byte-after-message", Tcp, Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\x00\n",
            Value::Null,
            -32700
        )),
        case!("tcp/raw-nul-inside-string", Tcp, Main, |e| {
            tcp_error(e, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"a\x00b\"}}}\n", Value::Null, -32700)
        }),
        case!("tcp/escaped-nul-echoed", Tcp, Main, tcp_escaped_nul),
        case!("tcp/empty-and-whitespace-lines", Tcp, Main, tcp_blank_lines),
        case!("tcp/json-scalars-not-objects", Tcp, Main, tcp_scalars),
        case!("tcp/deep-nesting-100k-open-brackets", Tcp, Main, |e| {
            tcp_error(
                e,
                &[&b"["[..].repeat(100_000)[..], b"\n"].concat(),
                Value::Null,
                -32700,
            )
        }),
        case!(
            "tcp/deep-nesting-50k-balanced-batch",
            Tcp,
            Main,
            tcp_deep_balanced
        ),
        case!(
            "tcp/deep-nesting-in-arguments",
            Tcp,
            Main,
            tcp_deep_arguments
        ),
        case!("tcp/huge-number-id-1e400", Tcp, Main, |e| {
            tcp_id_echoed_exactly(e, "1e400")
        }),
        case!("tcp/huge-integer-id-400-digits", Tcp, Main, |e| {
            tcp_id_echoed_exactly(e, &"9".repeat(400))
        }),
        case!(
            "tcp/huge-number-argument-1e400",
            Tcp,
            Main,
            tcp_huge_number_argument
        ),
        case!(
            "tcp/string-just-under-message-limit",
            Tcp,
            Main,
            tcp_just_under_limit
        ),
        case!(
            "tcp/string-just-over-message-limit",
            Tcp,
            Main,
            tcp_just_over_limit
        ),
        case!(
            "tcp/oversize-line-10x-in-pieces",
            Tcp,
            Main,
            tcp_oversize_in_pieces
        ),
        case!(
            "tcp/tools-call-name-not-a-string",
            Tcp,
            Main,
            tcp_name_not_string
        ),
        case!(
            "tcp/tools-call-arguments-not-an-object",
            Tcp,
            Main,
            tcp_arguments_not_object
        ),
        case!(
            "tcp/tools-call-meta-not-an-object",
            Tcp,
            Main,
            tcp_meta_not_object
        ),
        case!(
            "tcp/tools-call-modern-wrong-types",
            Tcp,
            Main,
            tcp_modern_wrong_types
        ),
        case!("tcp/params-not-structured", Tcp, Main, tcp_params_scalar),
        case!(
            "tcp/params-positional-array",
            Tcp,
            Main,
            tcp_params_positional
        ),
        case!("tcp/tools-call-without-params", Tcp, Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\"}\n",
            json!(3),
            -32602
        )),
        case!("tcp/id-of-wrong-type", Tcp, Main, tcp_id_wrong_type),
        case!("tcp/null-id-on-request", Tcp, Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}\n",
            Value::Null,
            -32600
        )),
        case!("tcp/jsonrpc-version-wrong", Tcp, Main, tcp_jsonrpc_version),
        case!("tcp/method-not-a-string", Tcp, Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":5}\n",
            json!(4),
            -32600
        )),
        case!("tcp/request-with-result-member", Tcp, Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\",\"result\":{}}\n",
            json!(4),
            -32600
        )),
        case!("tcp/unknown-method", Tcp, Main, |e| tcp_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":\"u\",\"method\":\"no/such/method\"}\n",
            json!("u"),
            -32601
        )),
        case!(
            "tcp/unknown-notification-silent",
            Tcp,
            Main,
            tcp_unknown_notification
        ),
        case!(
            "tcp/malformed-cancel-notifications-silent",
            Tcp,
            Main,
            tcp_bad_cancel
        ),
        case!(
            "tcp/response-to-unsent-request-ignored",
            Tcp,
            Main,
            tcp_unsolicited_responses
        ),
        case!("tcp/duplicate-ids-in-flight", Tcp, Main, tcp_duplicate_ids),
        case!(
            "tcp/flood-beyond-max-inflight",
            Tcp,
            Main,
            tcp_inflight_flood
        ),
        case!("tcp/batch-on-2025-11-25", Tcp, Main, |e| tcp_error(
            e,
            b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n",
            Value::Null,
            -32600
        )),
        case!(
            "tcp/batch-before-initialize",
            Tcp,
            Main,
            tcp_batch_uninitialized
        ),
        case!("tcp/empty-batch", Tcp, Main, |e| tcp_error(
            e,
            b"[]\n",
            Value::Null,
            -32600
        )),
        case!(
            "tcp/batch-of-garbage-on-2025-03-26",
            Tcp,
            Main,
            tcp_batch_garbage_2025_03_26
        ),
        case!(
            "tcp/http-request-on-ndjson-port",
            Tcp,
            Main,
            tcp_http_on_ndjson
        ),
        case!(
            "tcp/half-close-with-request-in-flight",
            Tcp,
            Main,
            tcp_half_close_in_flight
        ),
        case!(
            "tcp/half-close-mid-line",
            Tcp,
            Main,
            tcp_half_close_mid_line
        ),
        case!("tcp/reset-mid-line", Tcp, Main, tcp_reset_mid_line),
        case!(
            "tcp/reset-with-request-in-flight",
            Tcp,
            Main,
            tcp_reset_in_flight
        ),
        case!("tcp/connection-churn", Tcp, Main, tcp_churn),
        case!("tcp/client-never-reads", Tcp, Main, tcp_never_reads),
        case!("tcp/rate-limit-exceeded", Tcp, RateLimited, tcp_rate_limit),
        // ---- Streamable HTTP ------------------------------------------------------------------
        case!("http/malformed-json", Http, Main, |e| http_jsonrpc_error(
            e,
            b"{nope",
            400,
            Value::Null,
            -32700
        )),
        case!("http/truncated-json", Http, Main, |e| http_jsonrpc_error(
            e,
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"",
            400,
            Value::Null,
            -32700
        )),
        case!("http/empty-body", Http, Main, |e| http_jsonrpc_error(
            e,
            b"",
            400,
            Value::Null,
            -32700
        )),
        case!("http/invalid-utf8-in-body", Http, Main, http_invalid_utf8),
        case!("http/deep-nesting-60k-open-brackets", Http, Main, |e| {
            http_jsonrpc_error(e, &b"[".repeat(60_000), 400, Value::Null, -32700)
        }),
        case!("http/batch-on-2026-07-28", Http, Main, http_batch_modern),
        case!(
            "http/batch-on-2025-11-25-session",
            Http,
            Main,
            http_batch_legacy
        ),
        case!("http/null-id", Http, Main, |e| {
            http_jsonrpc_error(e, br#"{"jsonrpc":"2.0","id":null,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#, 400, Value::Null, -32600)
        }),
        case!("http/id-of-wrong-type", Http, Main, |e| {
            http_jsonrpc_error(e, br#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#, 400, Value::Null, -32600)
        }),
        case!("http/jsonrpc-1.0", Http, Main, |e| {
            http_jsonrpc_error(e, br#"{"jsonrpc":"1.0","id":7,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#, 400, json!(7), -32600)
        }),
        case!("http/tools-call-wrong-types", Http, Main, http_wrong_types),
        case!("http/unknown-method", Http, Main, http_unknown_method),
        case!(
            "http/unknown-notification",
            Http,
            Main,
            http_unknown_notification
        ),
        case!(
            "http/response-to-unsent-request",
            Http,
            Main,
            http_unsolicited_response
        ),
        case!(
            "http/wrong-content-type",
            Http,
            Main,
            |e| http_content_type(e, Some("text/plain"))
        ),
        case!("http/missing-content-type", Http, Main, |e| {
            http_content_type(e, None)
        }),
        case!("http/unacceptable-accept", Http, Main, http_wrong_accept),
        case!("http/missing-accept", Http, Main, http_missing_accept),
        case!("http/foreign-origin", Http, Main, |e| http_origin(
            e,
            "https://evil.example"
        )),
        case!("http/null-origin", Http, Main, |e| http_origin(e, "null")),
        case!("http/foreign-host", Http, Main, http_foreign_host),
        case!("http/missing-host", Http, Main, http_missing_host),
        case!("http/duplicate-host", Http, Main, http_duplicate_host),
        case!(
            "http/unknown-session-ids",
            Http,
            Main,
            http_unknown_sessions
        ),
        case!(
            "http/request-on-deleted-session",
            Http,
            Main,
            http_deleted_session
        ),
        case!(
            "http/legacy-request-without-session",
            Http,
            Main,
            http_no_session
        ),
        case!(
            "http/bad-protocol-version-header",
            Http,
            Main,
            http_bad_version_header
        ),
        case!(
            "http/wrong-method-and-path",
            Http,
            Main,
            http_wrong_method_and_path
        ),
        case!("http/absolute-form-target", Http, Main, http_absolute_form),
        case!(
            "http/oversize-body-content-length",
            Http,
            Main,
            http_oversize_content_length
        ),
        case!(
            "http/oversize-body-chunked",
            Http,
            Main,
            http_oversize_chunked
        ),
        case!(
            "http/oversize-body-expect-100-continue",
            Http,
            Main,
            http_oversize_expect_continue
        ),
        case!("http/too-many-headers", Http, Main, http_too_many_headers),
        case!("http/oversize-header-bytes", Http, Main, http_oversize_head),
        case!(
            "http/bad-content-length",
            Http,
            Main,
            http_bad_content_length
        ),
        case!(
            "http/content-length-overflow",
            Http,
            Main,
            http_content_length_overflow
        ),
        case!("http/conflicting-content-lengths", Http, Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", &[400])
        }),
        case!("http/content-length-with-chunked", Http, Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", &[400])
        }),
        case!("http/unsupported-transfer-encoding", Http, Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip\r\n\r\n", &[501])
        }),
        case!("http/bad-chunk-size", Http, Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &[400])
        }),
        case!("http/chunk-size-overflow", Http, Main, |e| {
            http_refused(e, b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffffffff\r\n", &[400, 413])
        }),
        case!("http/binary-garbage", Http, Main, |e| http_refused(
            e,
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            &[400]
        )),
        case!("http/http2-prior-knowledge-preface", Http, Main, |e| {
            http_refused(e, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", &[400, 505])
        }),
        case!("http/obsolete-line-folding", Http, Main, |e| http_refused(
            e,
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n b\r\n\r\n",
            &[400]
        )),
        case!("http/header-without-colon", Http, Main, |e| http_refused(
            e,
            b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nBogus\r\n\r\n",
            &[400]
        )),
        case!("http/slowloris-head", Http, Main, http_slowloris_head),
        case!("http/slowloris-trickle", Http, Main, http_slowloris_trickle),
        case!("http/slowloris-body", Http, Main, http_slowloris_body),
        case!(
            "http/half-close-mid-request",
            Http,
            Main,
            http_half_close_mid_request
        ),
        case!(
            "http/half-close-with-request-in-flight",
            Http,
            Main,
            http_half_close_in_flight
        ),
        case!("http/reset-mid-request", Http, Main, http_reset_mid_request),
        case!(
            "http/reset-with-request-in-flight",
            Http,
            Main,
            http_reset_in_flight
        ),
        case!(
            "http/request-after-connection-close",
            Http,
            Main,
            http_after_close
        ),
        case!("http/pipelining-flood", Http, Main, http_pipeline_flood),
        case!(
            "http/sse-reader-never-reads",
            Http,
            Main,
            http_sse_never_reads
        ),
        case!(
            "http/rate-limit-exceeded",
            Http,
            RateLimited,
            http_rate_limit
        ),
        // ---- stdio ------------------------------------------------------------------------------
        case!("stdio/malformed-json", Stdio, Own, |_| stdio_error(
            &[],
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":}\n",
            Value::Null,
            -32700
        )),
        case!("stdio/invalid-utf8", Stdio, Own, |_| stdio_error(
            &[],
            b"\xc3\x28\xff\n",
            Value::Null,
            -32700
        )),
        case!("stdio/nul-bytes", Stdio, Own, |_| stdio_error(
            &[],
            b"\x00\x00\x00\n",
            Value::Null,
            -32700
        )),
        case!("stdio/oversize-line", Stdio, Own, |_| stdio_error(
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
        case!("stdio/batch-on-2025-11-25", Stdio, Own, |_| stdio_error(
            &[],
            b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n",
            Value::Null,
            -32600
        )),
        case!(
            "stdio/unknown-notification-and-unsent-response-silent",
            Stdio,
            Own,
            stdio_silent
        ),
        case!(
            "stdio/stdin-closed-with-request-in-flight",
            Stdio,
            Own,
            stdio_close_in_flight
        ),
        case!(
            "stdio/stdin-closed-mid-line",
            Stdio,
            Own,
            stdio_close_mid_line
        ),
    ]
}

#[test]
fn matrix_is_big_enough_and_names_are_unique() {
    let all = cases();
    assert!(all.len() >= 40, "only {} cases", all.len());
    let mut names: Vec<&str> = all.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), all.len(), "case names must be unique");
    for c in &all {
        let prefix = match c.transport {
            Transport::Tcp => "tcp/",
            Transport::Http => "http/",
            Transport::Stdio => "stdio/",
        };
        assert!(
            c.name.starts_with(prefix),
            "{} runs on {:?}",
            c.name,
            c.transport
        );
        assert_eq!(
            c.target == Target::Own,
            c.transport == Transport::Stdio,
            "{}",
            c.name
        );
    }
}

#[test]
fn hostile_tcp() {
    run_matrix(Transport::Tcp);
}

#[test]
fn hostile_http() {
    run_matrix(Transport::Http);
}

#[test]
fn hostile_stdio() {
    run_matrix(Transport::Stdio);
}

/// The servers one transport's cases attack.
struct Env {
    main: Option<Server>,
    rate: Option<Server>,
}

impl Env {
    fn start(transport: Transport) -> Env {
        let (max_message, max_queued) = (TCP_MAX_MESSAGE.to_string(), MAX_QUEUED.to_string());
        let inflight = TCP_MAX_INFLIGHT.to_string();
        let (body, headers, head) = (
            HTTP_MAX_BODY.to_string(),
            HTTP_MAX_HEADERS.to_string(),
            HTTP_MAX_HEAD.to_string(),
        );
        let timeout = HTTP_REQUEST_TIMEOUT_MS.to_string();
        match transport {
            Transport::Tcp => Env {
                main: Some(Server::tcp(&[
                    "--cores",
                    "1",
                    "--max-message-bytes",
                    &max_message,
                    "--max-inflight",
                    &inflight,
                    "--max-queued-bytes",
                    &max_queued,
                ])),
                rate: Some(Server::tcp(&[
                    "--cores",
                    "1",
                    "--rate-limit-rps",
                    "2",
                    "--rate-limit-burst",
                    "3",
                ])),
            },
            Transport::Http => Env {
                main: Some(Server::http(&[
                    "--cores",
                    "1",
                    "--max-message-bytes",
                    &body,
                    "--max-headers",
                    &headers,
                    "--max-header-bytes",
                    &head,
                    "--http-request-timeout-ms",
                    &timeout,
                    "--max-queued-bytes",
                    &max_queued,
                ])),
                rate: Some(Server::http(&[
                    "--cores",
                    "1",
                    "--rate-limit-rps",
                    "1",
                    "--rate-limit-burst",
                    "2",
                ])),
            },
            Transport::Stdio => Env {
                main: None,
                rate: None,
            },
        }
    }

    fn main(&self) -> &Server {
        self.main.as_ref().expect("main server")
    }

    fn port(&self) -> u16 {
        self.main().port.expect("port")
    }

    fn rate_port(&self) -> u16 {
        self.rate
            .as_ref()
            .and_then(|s| s.port)
            .expect("rate server")
    }

    fn servers(&self) -> impl Iterator<Item = (&'static str, &Server)> {
        [
            ("main", self.main.as_ref()),
            ("rate-limited", self.rate.as_ref()),
        ]
        .into_iter()
        .filter_map(|(n, s)| s.map(|s| (n, s)))
    }

    /// Wait for a log line of the main server containing `needle`.
    fn wait_log(&self, needle: &str, within: Duration) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.main().stderr.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }
}

/// Clients connected before the matrix began, one set per server.
enum Bystander {
    Tcp(Client),
    Http { conn: Http, session: Option<String> },
}

impl Bystander {
    fn open(transport: Transport, server: &Server, from: Ipv4Addr, legacy: bool) -> Bystander {
        let port = server.port.expect("port");
        match transport {
            Transport::Tcp => {
                let mut c = server.connect();
                c.initialize("2025-11-25");
                Bystander::Tcp(c)
            }
            Transport::Http => {
                let mut conn = Http::connect_from(from, port);
                let session = legacy.then(|| conn.initialize_legacy("2025-11-25"));
                Bystander::Http { conn, session }
            }
            Transport::Stdio => unreachable!("stdio cases have no shared server"),
        }
    }

    /// A `tools/call echo` answered correctly, on the connection opened before the matrix.
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
                assert_eq!(r.status, 200, "{}", body_text(&r));
                assert_eq!(r.json()["id"], 1000 + n);
                assert_eq!(r.json()["result"]["content"][0]["text"], text);
                if let Some(sid) = session.clone() {
                    let body = json!({"jsonrpc": "2.0", "id": 5000 + n, "method": "tools/call",
                        "params": {"name": "echo", "arguments": {"text": text}}});
                    let r = conn.post(
                        &[
                            JSON_CT,
                            ACCEPT_BOTH,
                            ("Mcp-Session-Id", &sid),
                            ("MCP-Protocol-Version", "2025-11-25"),
                        ],
                        body.to_string().as_bytes(),
                    );
                    assert_eq!(r.status, 200, "{}", body_text(&r));
                    assert_eq!(r.json()["result"]["content"][0]["text"], text);
                }
            }
        }
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panicked".into())
}

fn run_matrix(transport: Transport) {
    let mut env = Env::start(transport);
    let all: Vec<Case> = cases()
        .into_iter()
        .filter(|c| c.transport == transport)
        .collect();
    // Bystanders: connected (and, on HTTP, holding a legacy session) before any case runs. The
    // rate-limited HTTP server counts per client address, so its bystander comes from another
    // loopback address than the cases.
    let mut bystanders: Vec<(Target, Bystander)> = Vec::new();
    if let Some(s) = &env.main {
        bystanders.push((
            Target::Main,
            Bystander::open(transport, s, Ipv4Addr::LOCALHOST, true),
        ));
    }
    if let Some(s) = &env.rate {
        bystanders.push((
            Target::RateLimited,
            Bystander::open(transport, s, Ipv4Addr::new(127, 0, 0, 2), false),
        ));
    }
    for (i, (_, b)) in bystanders.iter_mut().enumerate() {
        b.check(i as i64);
    }
    let rss_before: Vec<(u32, u64)> = env
        .servers()
        .map(|(_, s)| (s.child.id(), rss_kib(s.child.id())))
        .collect();
    let mut failures = Vec::new();
    let started = Instant::now();
    for (n, case) in all.iter().enumerate() {
        let t = Instant::now();
        if let Err(p) = catch_unwind(AssertUnwindSafe(|| (case.run)(&env))) {
            failures.push(format!("{}: {}", case.name, panic_text(p)));
        }
        for (target, b) in bystanders.iter_mut() {
            // The rate-limited server's bystander is only asked after its own cases (it is
            // rate limited too, just in its own bucket).
            if *target != Target::Main && *target != case.target {
                continue;
            }
            let n = 10 * (n as i64 + 1);
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| b.check(n))) {
                failures.push(format!(
                    "{}: bystander on the {target:?} server: {}",
                    case.name,
                    panic_text(p)
                ));
                // Later cases deserve a bystander that works; name the replacement.
                let s = match target {
                    Target::Main => env.main.as_ref(),
                    _ => env.rate.as_ref(),
                };
                if let Some(s) = s {
                    if let Ok(fresh) = catch_unwind(AssertUnwindSafe(|| {
                        Bystander::open(transport, s, Ipv4Addr::new(127, 0, 0, 2), false)
                    })) {
                        *b = fresh;
                    }
                }
            }
        }
        eprintln!("case {} took {:?}", case.name, t.elapsed());
    }
    eprintln!(
        "{} {transport:?} cases in {:?}",
        all.len(),
        started.elapsed()
    );
    // Still alive, and memory did not balloon.
    std::thread::sleep(Duration::from_millis(300));
    for ((name, s), (pid, before)) in env.servers().zip(&rss_before) {
        assert_eq!(s.child.id(), *pid);
        let after = rss_kib(*pid);
        eprintln!("{name} server RSS: {before} KiB before the matrix, {after} KiB after");
        if after > 2 * before + 32 * 1024 {
            failures.push(format!(
                "{name} server: RSS grew from {before} KiB to {after} KiB"
            ));
        }
    }
    for s in [env.main.as_mut(), env.rate.as_mut()].into_iter().flatten() {
        if let Ok(Some(status)) = s.child.try_wait() {
            failures.push(format!("the server exited during the matrix: {status}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} {transport:?} cases failed:\n  {}",
        failures.len(),
        all.len(),
        failures.join("\n  ")
    );
}

// ------------------------------------------------------------------------------------------------
// Newline-delimited JSON over a raw TCP socket
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Eof,
    Reset,
}

enum Got {
    Line(Vec<u8>),
    End(End),
    Timeout,
}

/// A raw connection read line by line, every read bounded by a timeout.
struct Lines {
    s: TcpStream,
    buf: Vec<u8>,
    ended: Option<End>,
}

fn small_rcvbuf_connect(port: u16) -> TcpStream {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    // Set before connect so that the advertised window stays small: the kernel cannot hide a
    // client that never reads behind megabytes of receive buffer.
    sock.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    sock.connect(&addr.into()).expect("connect");
    let s: TcpStream = sock.into();
    s.set_nodelay(true).ok();
    s
}

fn reset(s: &TcpStream) {
    socket2::SockRef::from(s)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER");
}

fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
    )
}

impl Lines {
    fn connect(port: u16) -> Lines {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_nodelay(true).ok();
        Lines::on(s)
    }

    fn on(s: TcpStream) -> Lines {
        Lines {
            s,
            buf: Vec::new(),
            ended: None,
        }
    }

    /// Connected and initialized at 2025-11-25.
    fn ready(env: &Env) -> Lines {
        let mut l = Lines::connect(env.port());
        l.initialize("2025-11-25");
        l
    }

    fn initialize(&mut self, version: &str) {
        self.send_json(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
            "params": {"protocolVersion": version, "capabilities": {},
                       "clientInfo": {"name": "hostile", "version": "1"}}}));
        let r = self.response(&json!(0));
        assert_eq!(r["result"]["protocolVersion"], version, "{r}");
        self.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n");
    }

    fn send(&mut self, bytes: &[u8]) {
        self.s
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("write failed: {e}"));
    }

    fn try_send(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.s.write_all(bytes)
    }

    fn send_json(&mut self, msg: &Value) {
        let mut line = serde_json::to_vec(msg).expect("json");
        line.push(b'\n');
        self.send(&line);
    }

    fn next(&mut self, within: Duration) -> Got {
        let deadline = Instant::now() + within;
        let mut tmp = vec![0u8; 64 * 1024];
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.buf.drain(..=i).collect();
                line.pop();
                return Got::Line(line);
            }
            if let Some(e) = self.ended {
                return Got::End(e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Got::Timeout;
            }
            self.s
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok();
            match self.s.read(&mut tmp) {
                Ok(0) => self.ended = Some(End::Eof),
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => self.ended = Some(End::Reset),
            }
        }
    }

    fn raw_line(&mut self) -> String {
        match self.next(READ) {
            Got::Line(l) => String::from_utf8(l)
                .unwrap_or_else(|e| panic!("the server wrote a line that is not UTF-8: {e}")),
            Got::End(e) => panic!("the connection ended ({e:?}) while an answer was due"),
            Got::Timeout => panic!("no answer within {READ:?}"),
        }
    }

    fn msg(&mut self) -> Value {
        let line = self.raw_line();
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("the server wrote invalid JSON {line:?}: {e}"))
    }

    /// The response with this id; anything else arriving first is a failure.
    fn response(&mut self, id: &Value) -> Value {
        let m = self.msg();
        assert!(
            m.get("id") == Some(id) && m.get("method").is_none(),
            "expected the response with id {id}, got {m}"
        );
        m
    }

    fn silent(&mut self, within: Duration) {
        match self.next(within) {
            Got::Line(l) => panic!("expected no answer, got {:?}", String::from_utf8_lossy(&l)),
            Got::End(e) => panic!("expected no answer, but the connection ended ({e:?})"),
            Got::Timeout => {}
        }
    }

    /// Every line until the connection ends (None: it did not end within `within`).
    fn until_end(&mut self, within: Duration) -> (Vec<Vec<u8>>, Option<End>) {
        let deadline = Instant::now() + within;
        let mut lines = Vec::new();
        loop {
            match self.next(deadline.saturating_duration_since(Instant::now())) {
                Got::Line(l) => lines.push(l),
                Got::End(e) => return (lines, Some(e)),
                Got::Timeout => return (lines, None),
            }
        }
    }

    /// The same connection still answers `tools/call echo`.
    fn still_echoes(&mut self) {
        self.send(&echo_line(json!("after"), "still here"));
        let r = self.response(&json!("after"));
        assert_eq!(r["result"]["content"][0]["text"], "still here", "{r}");
    }
}

fn echo_line(id: Value, text: &str) -> Vec<u8> {
    let mut line = serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": text}}}))
    .expect("json");
    line.push(b'\n');
    line
}

fn assert_error(msg: &Value, id: &Value, code: i64) {
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

/// Send `bytes` on an initialized session: one error response with `id` and `code`, then the
/// connection goes on.
fn tcp_error(env: &Env, bytes: &[u8], id: Value, code: i64) {
    let mut l = Lines::ready(env);
    l.send(bytes);
    let m = l.msg();
    assert_error(&m, &id, code);
    l.silent(Duration::from_millis(100));
    l.still_echoes();
}

fn tcp_escaped_nul(env: &Env) {
    let mut l = Lines::ready(env);
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"a\\u0000b\"}}}\n");
    let r = l.response(&json!(1));
    assert_eq!(r["result"]["content"][0]["text"], "a\u{0}b", "{r}");
}

fn tcp_blank_lines(env: &Env) {
    let mut l = Lines::ready(env);
    l.send(b"\n\n   \n\t\r\n\r\n \x0c\n");
    l.silent(QUIET);
    l.still_echoes();
}

fn tcp_scalars(env: &Env) {
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
    let (line, _) = echo_of_len(8, 10 * TCP_MAX_MESSAGE);
    for piece in line.chunks(64 * 1024) {
        l.send(piece);
    }
    assert_error(&l.msg(), &Value::Null, -32600);
    // Reported once; the rest of the line is skipped and the connection goes on.
    l.still_echoes();
}

fn tcp_params_each(env: &Env, params: &[&str], code: i64) {
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
    for id in ["{\"a\":1}", "[1]", "true", "false"] {
        l.send(format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}\n").as_bytes());
        let m = l.msg();
        assert_error(&m, &Value::Null, -32600);
    }
    l.still_echoes();
}

fn tcp_jsonrpc_version(env: &Env) {
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
    l.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"no/such/notification\",\"params\":{\"x\":1}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}\n");
    l.silent(QUIET);
    l.still_echoes();
}

fn tcp_bad_cancel(env: &Env) {
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":\"s-1\",\"result\":{\"action\":\"accept\"}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":98,\"error\":{\"code\":-32603,\"message\":\"x\"}}\n");
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}\n");
    l.silent(QUIET);
    l.still_echoes();
}

fn tcp_duplicate_ids(env: &Env) {
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
    l.send(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    // Two non-blank lines, two parse errors; the blank line is skipped.
    assert_error(&l.msg(), &Value::Null, -32700);
    assert_error(&l.msg(), &Value::Null, -32700);
    l.silent(Duration::from_millis(100));
    l.still_echoes();
}

fn tcp_half_close_in_flight(env: &Env) {
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
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
    let mut l = Lines::ready(env);
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ec");
    reset(&l.s);
    drop(l);
}

fn tcp_reset_in_flight(env: &Env) {
    let mut l = Lines::ready(env);
    for i in 0..TCP_MAX_INFLIGHT {
        l.send(format!("{{\"jsonrpc\":\"2.0\",\"id\":{i},\"method\":\"tools/call\",\"params\":{{\"name\":\"sleep\",\"arguments\":{{\"ms\":1000}}}}}}\n").as_bytes());
    }
    l.send(b"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"progress\",\"arguments\":{\"steps\":50,\"delay_ms\":5},\"_meta\":{\"progressToken\":\"p\"}}}\n");
    std::thread::sleep(Duration::from_millis(50));
    reset(&l.s);
    drop(l);
    // Answers to a vanished peer go nowhere, and nothing leaks onto other connections.
    std::thread::sleep(Duration::from_millis(100));
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
    let mut l = Lines::ready(env);
    l.still_echoes();
}

fn tcp_never_reads(env: &Env) {
    let mut l = Lines::on(small_rcvbuf_connect(env.port()));
    l.initialize("2025-11-25");
    // About 16 MB of answers for a peer that reads none of them: far beyond the output limit
    // plus what the kernel can buffer.
    let text = "r".repeat(200_000);
    let mut sent = 0;
    for i in 0..80 {
        if l.try_send(&echo_line(json!(i), &text)).is_err() {
            break;
        }
        sent += 1;
    }
    let warned = env.wait_log("does not read", Duration::from_secs(5));
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

fn tcp_rate_limit(env: &Env) {
    // --rate-limit-rps 2 --rate-limit-burst 3, per connection: initialize takes one token.
    let mut l = Lines::connect(env.rate_port());
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
    let mut other = Lines::connect(env.rate_port());
    other.initialize("2025-11-25");
    other.still_echoes();
    // The limited client recovers once its bucket refills.
    std::thread::sleep(Duration::from_millis(wait_ms + 50));
    l.still_echoes();
}

// ------------------------------------------------------------------------------------------------
// HTTP over a raw socket
// ------------------------------------------------------------------------------------------------

const JSON_CT: (&str, &str) = ("Content-Type", "application/json");
const ACCEPT_BOTH: (&str, &str) = ("Accept", "application/json, text/event-stream");

/// A raw HTTP/1.1 connection: exact bytes out, bounded reads in; writes that fail are tolerated
/// where a case expects the server to hang up.
struct Http {
    s: TcpStream,
    r: BufReader<TcpStream>,
    port: u16,
}

/// The body for a failure message (cut short).
fn body_text(r: &HttpResponse) -> String {
    let text = String::from_utf8_lossy(&r.body);
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.into_owned(),
    }
}

impl Http {
    fn on(s: TcpStream, port: u16) -> Http {
        s.set_nodelay(true).ok();
        s.set_read_timeout(Some(READ)).ok();
        let r = BufReader::new(s.try_clone().expect("clone"));
        Http { s, r, port }
    }

    fn connect(port: u16) -> Http {
        Http::on(
            TcpStream::connect(("127.0.0.1", port)).expect("connect"),
            port,
        )
    }

    /// From another loopback address (the server rate-limits per client address).
    fn connect_from(ip: Ipv4Addr, port: u16) -> Http {
        let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        sock.bind(&SocketAddr::from((ip, 0)).into()).expect("bind");
        sock.connect(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)).into())
            .expect("connect");
        Http::on(sock.into(), port)
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.s.write_all(bytes)
    }

    fn send(&mut self, bytes: &[u8]) {
        self.write(bytes)
            .unwrap_or_else(|e| panic!("write failed: {e}"));
    }

    fn request_bytes(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Vec<u8> {
        let mut req = format!("{method} {path} HTTP/1.1\r\n");
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            req.push_str(&format!("Host: 127.0.0.1:{}\r\n", self.port));
        }
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        if !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            && (!body.is_empty() || method == "POST")
        {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        bytes
    }

    fn request(&mut self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) {
        let bytes = self.request_bytes(method, path, headers, body);
        self.send(&bytes);
    }

    fn post(&mut self, headers: &[(&str, &str)], body: &[u8]) -> HttpResponse {
        self.request("POST", "/mcp", headers, body);
        self.response()
    }

    fn line(&mut self) -> Result<String, String> {
        let mut raw = Vec::new();
        match self.r.read_until(b'\n', &mut raw) {
            Ok(0) => Err("the connection closed before a response".into()),
            Ok(_) => Ok(String::from_utf8_lossy(&raw).trim_end().to_owned()),
            Err(e) => Err(format!("no response: {e}")),
        }
    }

    /// The status line and headers (a 100 Continue is returned like any other status).
    fn try_head(&mut self) -> Result<(u16, Vec<(String, String)>), String> {
        let line = self.line()?;
        let status = line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line {line:?}"))?;
        let mut headers = Vec::new();
        loop {
            let h = self.line()?;
            if h.is_empty() {
                break;
            }
            let (n, v) = h
                .split_once(':')
                .ok_or_else(|| format!("bad header line {h:?}"))?;
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
        Ok((status, headers))
    }

    fn try_response(&mut self) -> Result<HttpResponse, String> {
        let (status, headers) = self.try_head()?;
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let body = if let Some(len) = get("content-length") {
            let len: usize = len
                .parse()
                .map_err(|_| format!("bad Content-Length {len}"))?;
            let mut body = vec![0u8; len];
            self.r
                .read_exact(&mut body)
                .map_err(|e| format!("body cut short: {e}"))?;
            body
        } else if get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            let mut body = Vec::new();
            while let Some(chunk) = self.chunk()? {
                body.extend_from_slice(&chunk);
            }
            body
        } else {
            Vec::new()
        };
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    fn response(&mut self) -> HttpResponse {
        self.try_response().unwrap_or_else(|e| panic!("{e}"))
    }

    fn chunk(&mut self) -> Result<Option<Vec<u8>>, String> {
        let size = self.line()?;
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size:?}"))?;
        let mut data = vec![0u8; n + 2];
        self.r
            .read_exact(&mut data)
            .map_err(|e| format!("chunk cut short: {e}"))?;
        data.truncate(n);
        Ok((n > 0).then_some(data))
    }

    /// The server closes the connection within `within` without sending anything more.
    fn expect_closed(&mut self, within: Duration) {
        assert!(
            self.r.buffer().is_empty(),
            "unexpected bytes after the response: {:?}",
            String::from_utf8_lossy(self.r.buffer())
        );
        self.s.set_read_timeout(Some(within)).ok();
        let mut buf = [0u8; 4096];
        // (A response already read may have left nothing behind; anything new is a failure.)
        match self.r.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected the connection to close, got {:?}",
                String::from_utf8_lossy(&buf[..n])
            ),
            Err(e) if is_reset(&e) => {}
            Err(e) => panic!("the connection was not closed within {within:?}: {e}"),
        }
    }

    /// A refusal: `status`, `Connection: close`, then the connection closes.
    fn expect_refusal(&mut self, statuses: &[u16]) -> HttpResponse {
        let r = self.response();
        assert!(
            statuses.contains(&r.status),
            "expected {statuses:?}, got {} {:?}",
            r.status,
            body_text(&r)
        );
        assert!(
            r.header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close")),
            "a refused request announces Connection: close ({:?})",
            r.headers
        );
        self.expect_closed(Duration::from_secs(3));
        r
    }

    /// Legacy handshake on this connection; returns the session id.
    fn initialize_legacy(&mut self, version: &str) -> String {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {},
            "clientInfo": {"name": "hostile", "version": "1"}}});
        let r = self.post(&[JSON_CT, ACCEPT_BOTH], body.to_string().as_bytes());
        assert_eq!(r.status, 200, "{}", body_text(&r));
        let sid = r.header("mcp-session-id").expect("session id").to_owned();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let r = self.post(
            &[
                JSON_CT,
                ACCEPT_BOTH,
                ("Mcp-Session-Id", &sid),
                ("MCP-Protocol-Version", version),
            ],
            note.to_string().as_bytes(),
        );
        assert_eq!(r.status, 202);
        sid
    }
}

/// A 2026-07-28 POST of `body` on a fresh connection.
fn modern_post(env: &Env, method: &str, name: Option<&str>, body: &[u8]) -> HttpResponse {
    let mut c = Http::connect(env.port());
    c.post(&modern_headers(method, name), body)
}

fn assert_http_error(r: &HttpResponse, status: u16, id: &Value, code: i64) {
    assert_eq!(r.status, status, "{}", body_text(r));
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        r.headers
    );
    assert_error(&r.json(), id, code);
}

fn http_jsonrpc_error(env: &Env, body: &[u8], status: u16, id: Value, code: i64) {
    let mut c = Http::connect(env.port());
    let r = c.post(&modern_headers("tools/list", None), body);
    assert_http_error(&r, status, &id, code);
    // A JSON-RPC error is not an HTTP framing error: the connection serves on.
    let r = c.post(
        &modern_headers("tools/list", None),
        &modern_body(2, "tools/list", Value::Null),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
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
    let mut c = Http::connect(env.port());
    let sid = c.initialize_legacy("2025-11-25");
    let r = c.post(
        &[
            JSON_CT,
            ACCEPT_BOTH,
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
    assert_eq!(r.status, 202, "{}", body_text(&r));
    assert!(
        r.body.is_empty(),
        "no body for a notification: {}",
        body_text(&r)
    );
}

fn http_unsolicited_response(env: &Env) {
    let mut c = Http::connect(env.port());
    let sid = c.initialize_legacy("2025-11-25");
    let r = c.post(
        &[
            JSON_CT,
            ACCEPT_BOTH,
            ("Mcp-Session-Id", &sid),
            ("MCP-Protocol-Version", "2025-11-25"),
        ],
        br#"{"jsonrpc":"2.0","id":99,"result":{"action":"accept"}}"#,
    );
    assert_eq!(
        r.status,
        202,
        "a response is accepted (and ignored): {}",
        body_text(&r)
    );
    assert!(r.body.is_empty(), "{}", body_text(&r));
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
    let mut c = Http::connect(env.port());
    let r = c.post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 415, "{}", body_text(&r));
}

fn http_wrong_accept(env: &Env) {
    let mut h = modern_headers("tools/list", None);
    h.retain(|(n, _)| *n != "Accept");
    h.push(("Accept", "text/html, application/xml"));
    let r = Http::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 406, "{}", body_text(&r));
}

fn http_missing_accept(env: &Env) {
    // MCP puts the Accept requirement on the client and does not say what a server does without
    // one; RFC 9110 §12.5.1: no Accept header means any media type is acceptable. So the request
    // is served, with a JSON body.
    let mut h = modern_headers("tools/call", Some("echo"));
    h.retain(|(n, _)| *n != "Accept");
    let r = Http::connect(env.port()).post(
        &h,
        &modern_body(
            1,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "a"}}),
        ),
    );
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.json()["result"]["content"][0]["text"], "a");
}

fn http_origin(env: &Env, origin: &str) {
    let mut h = modern_headers("tools/list", None);
    h.push(("Origin", origin));
    let r = Http::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 403, "{}", body_text(&r));
    assert!(r.header("access-control-allow-origin").is_none());
}

fn http_foreign_host(env: &Env) {
    let mut h = modern_headers("tools/list", None);
    h.push(("Host", "rebind.attacker.example"));
    let r = Http::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 403, "{}", body_text(&r));
}

fn http_missing_host(env: &Env) {
    // RFC 9112 §3.2: a server MUST respond with 400 to an HTTP/1.1 request without Host.
    let mut c = Http::connect(env.port());
    let body = modern_body(1, "tools/list", Value::Null);
    let mut bytes = format!(
        "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/list\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(&body);
    c.send(&bytes);
    let r = c.response();
    assert_eq!(r.status, 400, "{}", body_text(&r));
}

fn http_duplicate_host(env: &Env) {
    // RFC 9112 §3.2: ... and to any request with more than one Host header field line.
    let mut h = modern_headers("tools/list", None);
    h.push(("Host", "127.0.0.1"));
    h.push(("Host", "localhost"));
    let r = Http::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 400, "{}", body_text(&r));
}

fn legacy_headers(sid: &str) -> Vec<(&str, &str)> {
    vec![
        JSON_CT,
        ACCEPT_BOTH,
        ("Mcp-Session-Id", sid),
        ("MCP-Protocol-Version", "2025-11-25"),
    ]
}

fn http_unknown_sessions(env: &Env) {
    let long = "ab".repeat(1000);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).to_string();
    let mut c = Http::connect(env.port());
    for sid in [
        "00ffffffffffffffffffffffffffffffff",
        "7fffffffffffffffffffffffffffffffff",
        "zz",
        "0",
        long.as_str(),
    ] {
        let r = c.post(&legacy_headers(sid), body.as_bytes());
        assert_eq!(r.status, 404, "session {sid:.20}: {}", body_text(&r));
    }
}

fn http_deleted_session(env: &Env) {
    let mut c = Http::connect(env.port());
    let sid = c.initialize_legacy("2025-11-25");
    c.request("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"");
    assert_eq!(c.response().status, 204);
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "x"}}});
    let r = c.post(&legacy_headers(&sid), body.to_string().as_bytes());
    assert_eq!(r.status, 404, "{}", body_text(&r));
    c.request(
        "GET",
        "/mcp",
        &[("Accept", "text/event-stream"), ("Mcp-Session-Id", &sid)],
        b"",
    );
    assert_eq!(c.response().status, 404);
    c.request("DELETE", "/mcp", &[("Mcp-Session-Id", &sid)], b"");
    assert_eq!(c.response().status, 404);
}

fn http_no_session(env: &Env) {
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    let r = Http::connect(env.port()).post(
        &[JSON_CT, ACCEPT_BOTH, ("MCP-Protocol-Version", "2025-11-25")],
        body.as_bytes(),
    );
    assert_eq!(r.status, 400, "{}", body_text(&r));
}

fn http_bad_version_header(env: &Env) {
    let mut h = modern_headers("tools/list", None);
    h.retain(|(n, _)| *n != "MCP-Protocol-Version");
    h.push(("MCP-Protocol-Version", "banana"));
    let r = Http::connect(env.port()).post(&h, &modern_body(1, "tools/list", Value::Null));
    assert_eq!(r.status, 400, "{}", body_text(&r));
    assert_eq!(r.json()["error"]["code"], -32022);
}

fn http_wrong_method_and_path(env: &Env) {
    let mut c = Http::connect(env.port());
    c.request("PUT", "/mcp", &[JSON_CT], b"{}");
    let r = c.response();
    assert_eq!(r.status, 405);
    assert!(r.header("allow").is_some(), "405 names the allowed methods");
    c.request("GET", "/mcp/../../etc/passwd", &[], b"");
    assert_eq!(c.response().status, 404);
    c.request(
        "GET",
        "/mcp",
        &[
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Accept", "text/event-stream"),
        ],
        b"",
    );
    assert_eq!(c.response().status, 405);
}

fn http_absolute_form(env: &Env) {
    // RFC 9112 §3.2.2: a server MUST accept the absolute form of the request target.
    let mut c = Http::connect(env.port());
    let target = format!("http://127.0.0.1:{}/health", env.port());
    c.request("GET", &target, &[], b"");
    let r = c.response();
    assert_eq!(r.status, 200, "{}", body_text(&r));
}

fn http_refused(env: &Env, bytes: &[u8], statuses: &[u16]) {
    let mut c = Http::connect(env.port());
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
    assert_eq!(r.status, 200, "{}", body_text(&r));
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
    let mut c = Http::connect(env.port());
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

fn http_oversize_expect_continue(env: &Env) {
    // The client waits for 100 Continue before sending its body: it must get 413 instead.
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
        10 * HTTP_MAX_BODY
    );
    let mut c = Http::connect(env.port());
    c.send(head.as_bytes());
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
        let mut c = Http::connect(env.port());
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
fn expect_408(c: &mut Http, started: Instant) {
    c.s.set_read_timeout(Some(Duration::from_secs(5))).ok();
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
    let mut c = Http::connect(env.port());
    let started = Instant::now();
    c.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl");
    expect_408(&mut c, started);
}

fn http_slowloris_trickle(env: &Env) {
    // One byte every 100 ms: never idle, never complete. The timeout counts from the first byte.
    let mut c = Http::connect(env.port());
    let started = Instant::now();
    let mut bytes = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
        .iter()
        .copied()
        .chain(std::iter::repeat(b'a'));
    let deadline = started + Duration::from_secs(5);
    let mut arrived = false;
    while Instant::now() < deadline {
        let byte = [bytes.next().unwrap_or(b'a')];
        if c.write(&byte).is_err() {
            break;
        }
        c.s.set_read_timeout(Some(Duration::from_millis(100))).ok();
        if !c.r.fill_buf().map(<[u8]>::is_empty).unwrap_or(true) {
            arrived = true;
            break;
        }
    }
    assert!(
        arrived || Instant::now() < deadline,
        "no answer to a trickling request"
    );
    expect_408(&mut c, started);
}

fn http_slowloris_body(env: &Env) {
    let mut c = Http::connect(env.port());
    let started = Instant::now();
    c.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 200\r\n\r\n{\"jsonrpc\":");
    expect_408(&mut c, started);
}

fn http_half_close_mid_request(env: &Env) {
    let mut c = Http::connect(env.port());
    c.send(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"jsonrpc\":");
    c.s.shutdown(Shutdown::Write).expect("shutdown");
    // The request can never complete: the server closes (a 400 first is fine too).
    c.s.set_read_timeout(Some(Duration::from_secs(3))).ok();
    let mut got = Vec::new();
    match c.r.read_to_end(&mut got) {
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
    let mut c = Http::connect(env.port());
    c.request(
        "POST",
        "/mcp",
        &modern_headers("tools/call", Some("sleep")),
        &modern_body(
            1,
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 200}}),
        ),
    );
    c.s.shutdown(Shutdown::Write).expect("shutdown");
    let r = c.response();
    assert_eq!(r.status, 200, "{}", body_text(&r));
    assert_eq!(r.json()["result"]["content"][0]["text"], "slept 200 ms");
    c.expect_closed(Duration::from_secs(3));
}

fn http_reset_mid_request(env: &Env) {
    let c = Http::connect(env.port());
    let _ =
        (&c.s).write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{");
    reset(&c.s);
    drop(c);
    let c = Http::connect(env.port());
    let _ = (&c.s).write_all(b"GET /heal");
    reset(&c.s);
    drop(c);
}

fn http_reset_in_flight(env: &Env) {
    let mut c = Http::connect(env.port());
    let mut body: Value = serde_json::from_slice(&modern_body(
        1,
        "tools/call",
        json!({"name": "progress", "arguments": {"steps": 100, "delay_ms": 5}}),
    ))
    .expect("json");
    body["params"]["_meta"]["progressToken"] = json!("p");
    c.request(
        "POST",
        "/mcp",
        &modern_headers("tools/call", Some("progress")),
        body.to_string().as_bytes(),
    );
    let (status, _) = c.try_head().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200);
    reset(&c.s);
    drop(c);
    let c = Http::connect(env.port());
    let bytes = c.request_bytes(
        "POST",
        "/mcp",
        &modern_headers("tools/call", Some("sleep")),
        &modern_body(
            2,
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 1000}}),
        ),
    );
    let _ = (&c.s).write_all(&bytes);
    std::thread::sleep(Duration::from_millis(50));
    reset(&c.s);
    drop(c);
    std::thread::sleep(Duration::from_millis(100));
}

fn http_after_close(env: &Env) {
    let mut c = Http::connect(env.port());
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
    // One slow request, then more pipelined requests than the 64 a connection may queue: 429,
    // Connection: close, and the connection closed. Once with everything in one write, once with
    // the request over the bound arriving on its own (the codec then holds no partial request).
    let mut wrong = Vec::new();
    for split in [false, true] {
        let r = catch_unwind(AssertUnwindSafe(|| {
            let mut c = Http::connect(env.port());
            let mut bytes = c.request_bytes(
                "POST",
                "/mcp",
                &modern_headers("tools/call", Some("sleep")),
                &modern_body(
                    0,
                    "tools/call",
                    json!({"name": "sleep", "arguments": {"ms": 2000}}),
                ),
            );
            let last = if split { 65 } else { 80 };
            for i in 1..=last {
                if split && i == last {
                    let _ = c.write(&bytes);
                    std::thread::sleep(Duration::from_millis(200));
                    bytes.clear();
                }
                bytes.extend(c.request_bytes(
                    "POST",
                    "/mcp",
                    &modern_headers("tools/list", None),
                    &modern_body(i, "tools/list", Value::Null),
                ));
            }
            let _ = c.write(&bytes);
            let started = Instant::now();
            let r = c.response();
            assert_eq!(r.status, 429, "{}", body_text(&r));
            assert!(
                started.elapsed() < Duration::from_millis(1500),
                "refused at once, not after the slow request"
            );
            assert!(r
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close")));
            c.expect_closed(Duration::from_secs(3));
        }));
        if let Err(p) = r {
            let how = if split {
                "over-bound request on its own"
            } else {
                "one write"
            };
            wrong.push(format!("{how}: {}", panic_text(p)));
        }
    }
    assert!(wrong.is_empty(), "\n    {}", wrong.join("\n    "));
}

fn http_sse_never_reads(env: &Env) {
    // A 2024-11-05 HTTP+SSE session whose stream is never read, with answers posted to it.
    let mut stream = Http::on(small_rcvbuf_connect(env.port()), env.port());
    stream.request("GET", "/sse", &[("Accept", "text/event-stream")], b"");
    let (status, _) = stream.try_head().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200);
    let first = stream
        .chunk()
        .unwrap_or_else(|e| panic!("{e}"))
        .expect("endpoint event");
    let first = String::from_utf8_lossy(&first).into_owned();
    let path = first
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no endpoint in {first:?}"))
        .to_owned();
    let mut poster = Http::connect(env.port());
    let post = |poster: &mut Http, body: Value| {
        poster.request("POST", &path, &[JSON_CT], body.to_string().as_bytes());
        poster.response().status
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
    stream.s.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut sink = Vec::new();
    match stream.r.read_to_end(&mut sink) {
        Ok(_) => {}
        Err(e) if is_reset(&e) => {}
        Err(e) => panic!("the stream's connection was not dropped: {e}"),
    }
}

fn http_rate_limit(env: &Env) {
    // --rate-limit-rps 1 --rate-limit-burst 2 per client address.
    let mut c = Http::connect(env.rate_port());
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
    assert_eq!(r.status, 200, "{}", body_text(&r));
}

// ------------------------------------------------------------------------------------------------
// stdio
// ------------------------------------------------------------------------------------------------

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
    let m = c.next(READ).expect("an answer");
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
