//! Unit tests of `http`.

use super::*;

fn all(codec: &mut HttpCodec, chunks: &[&[u8]]) -> Vec<HttpEvent> {
    let mut out = Vec::new();
    for c in chunks {
        codec.decode(c, |e| out.push(e));
    }
    out
}

fn req(events: &[HttpEvent], i: usize) -> &HttpRequest {
    match &events[i] {
        HttpEvent::Request(r) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

#[test]
fn framing_is_strict() {
    let status =
        |bytes: &[u8]| match all(&mut HttpCodec::new(HttpLimits::default()), &[bytes]).first() {
            Some(HttpEvent::Error(e)) => e.status,
            Some(HttpEvent::Request(_)) => 200,
            other => panic!("{other:?}"),
        };
    // Signs and empty values are not 1*DIGIT / 1*HEXDIG (request smuggling behind proxies).
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +2\r\n\r\nab"),
        400
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n"),
        400
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\nab\r\n0\r\n\r\n"),
        400
    );
    assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    // HTTP/1.0 may omit Host.
    assert_eq!(status(b"GET / HTTP/1.0\r\n\r\n"), 200);
}

#[test]
fn absolute_form_target_replaces_host() {
    let ev = all(
        &mut HttpCodec::new(HttpLimits::default()),
        &[b"GET http://example.test:8080/mcp?x=1 HTTP/1.1\r\nHost: other\r\n\r\nGET HTTPS://h.test HTTP/1.1\r\nHost: h.test\r\n\r\n"],
    );
    let r = req(&ev, 0);
    assert_eq!(r.path(), "/mcp");
    assert_eq!(r.query(), Some("x=1"));
    assert_eq!(r.header("host"), Some("example.test:8080"));
    assert_eq!(r.header_count("host"), 1);
    assert_eq!(req(&ev, 1).path(), "/");
}

#[test]
fn pipelined_and_split() {
    let mut c = HttpCodec::new(HttpLimits::default());
    let a = b"POST /mcp?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /sse HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    let ev = all(&mut c, &[&a[..10], &a[10..50], &a[50..]]);
    assert_eq!(ev.len(), 2);
    let r = req(&ev, 0);
    assert_eq!(
        (r.method, r.path(), r.query_param("x"), r.body.as_slice()),
        (Method::Post, "/mcp", Some("1"), &b"hello"[..])
    );
    assert_eq!(r.header("host"), Some("h"));
    assert!(r.keep_alive);
    assert!(!req(&ev, 1).keep_alive);
    assert_eq!(c.buffered(), 0);
}

#[test]
fn chunked_body() {
    let mut c = HttpCodec::new(HttpLimits::default());
    let ev = all(&mut c, &[b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nT: v\r\n\r\n"]);
    assert_eq!(req(&ev, 0).body, b"Wikipedia");
}

#[test]
fn limits() {
    let small = HttpLimits {
        max_headers: 4,
        max_head_bytes: 200,
        max_body_bytes: 10,
    };
    let mut c = HttpCodec::new(small);
    let ev = all(
        &mut c,
        &[b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n"],
    );
    assert_eq!(
        ev,
        vec![HttpEvent::Error(HttpError {
            status: 413,
            detail: "body too large"
        })]
    );
    let mut c = HttpCodec::new(small);
    let ev = all(
        &mut c,
        &[b"GET / HTTP/1.1\r\nHost: h\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n\r\n"],
    );
    assert!(matches!(
        ev[0],
        HttpEvent::Error(HttpError { status: 431, .. })
    ));
    let mut c = HttpCodec::new(small);
    let long = format!("GET / HTTP/1.1\r\nHost: h\r\nx: {}\r\n", "a".repeat(300));
    assert!(matches!(
        all(&mut c, &[long.as_bytes()])[0],
        HttpEvent::Error(HttpError { status: 431, .. })
    ));
    let mut c = HttpCodec::new(small);
    assert!(matches!(
        all(&mut c, &[b"\x00\x01garbage\r\n\r\n"])[0],
        HttpEvent::Error(HttpError { status: 400, .. })
    ));
    // After an error nothing more is decoded.
    assert!(all(&mut c, &[b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"]).is_empty());
    let mut c = HttpCodec::new(small);
    let ev = all(
        &mut c,
        &[b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n"],
    );
    assert!(matches!(
        ev[0],
        HttpEvent::Error(HttpError { status: 413, .. })
    ));
    let mut c = HttpCodec::new(small);
    let ev = all(
        &mut c,
        &[b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"],
    );
    assert!(matches!(
        ev[0],
        HttpEvent::Error(HttpError { status: 400, .. })
    ));
}

#[test]
fn expect_continue() {
    let mut c = HttpCodec::new(HttpLimits::default());
    let ev = all(
        &mut c,
        &[
            b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n",
            b"hi",
        ],
    );
    assert_eq!(ev[0], HttpEvent::Continue);
    assert_eq!(req(&ev, 1).body, b"hi");
}

#[test]
fn writes() {
    let mut out = Vec::new();
    write_head(
        &mut out,
        200,
        &[("Content-Type", "text/event-stream")],
        None,
        true,
    );
    write_chunk(&mut out, b"0123456789abcdefX");
    write_last_chunk(&mut out);
    let text = String::from_utf8(out).unwrap_or_default();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n0123456789abcdefX\r\n0\r\n\r\n"), "{text}");
}

#[test]
fn pipelined_requests_are_taken_as_room_allows() {
    let mut codec = HttpCodec::new(HttpLimits::default());
    let one = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
    let three: Vec<u8> = one.repeat(3);
    let mut out = Vec::new();
    // Room for two: the third stays buffered, and the codec says more is waiting.
    assert!(codec.decode_up_to(&three, 2, |e| out.push(e)));
    assert_eq!(out.len(), 2);
    assert_eq!(codec.buffered(), one.len());
    // No room: nothing is taken, even with new bytes; then room for all.
    assert!(codec.decode_up_to(one, 0, |e| out.push(e)));
    assert_eq!(out.len(), 2);
    assert!(!codec.decode_up_to(&[], 8, |e| out.push(e)));
    assert_eq!(out.len(), 4);
    assert_eq!(req(&out, 3).path(), "/a");
    assert_eq!(codec.buffered(), 0);
    // Exactly as many as there is room for: nothing left, so not full.
    assert!(!codec.decode_up_to(one, 1, |e| out.push(e)));
}

#[test]
fn release_keeps_a_request_that_is_arriving() {
    let mut codec = HttpCodec::new(HttpLimits::default());
    let mut out = Vec::new();
    codec.decode(b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HT", |e| {
        out.push(e)
    });
    codec.release();
    codec.decode(b"TP/1.1\r\nHost: h\r\n\r\n", |e| out.push(e));
    assert_eq!(out.len(), 2);
    assert_eq!(req(&out, 1).path(), "/b");
    codec.release();
    assert_eq!(codec.buffered(), 0);
}

#[test]
fn headers_are_ranges_of_one_head() {
    let ev = all(
        &mut HttpCodec::new(HttpLimits::default()),
        &[b"POST /a/b?k=v&x HTTP/1.1\r\nHOST: h\r\nX-Empty:\r\nX-Pad: \t a b \t\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 2\r\nExpect: 100-CONTINUE\r\n\r\nhi"],
    );
    // The body came with the head: no go-ahead is due.
    assert_eq!(ev.len(), 1);
    let r = req(&ev, 0);
    assert_eq!((r.path(), r.query()), ("/a/b", Some("k=v&x")));
    assert_eq!(
        (r.query_param("k"), r.query_param("x")),
        (Some("v"), Some(""))
    );
    assert_eq!(
        r.headers().collect::<Vec<_>>(),
        [
            ("host", "h"),
            ("x-empty", ""),
            ("x-pad", "a b"),
            ("connection", "Keep-Alive, CLOSE"),
            ("content-length", "2"),
            ("expect", "100-CONTINUE"),
        ]
    );
    assert!(!r.keep_alive, "close in any case closes");
    assert_eq!(r.body, b"hi");
    assert_eq!(r.clone(), *r);
    let bad = all(
        &mut HttpCodec::new(HttpLimits::default()),
        &[b"GET / HTTP/1.1\r\nHost: h\r\nX: \xff\r\n\r\n"],
    );
    assert_eq!(
        bad,
        [HttpEvent::Error(HttpError {
            status: 400,
            detail: "header value is not UTF-8"
        })]
    );
}
