//! Unit tests of `http::response`.

use super::*;

/// An event with its bytes owned, so that events of several reads can be compared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Head(u16, Vec<(String, String)>),
    Data(Vec<u8>),
    End(bool),
}

fn own(e: ResponseEvent<'_>) -> Ev {
    match e {
        ResponseEvent::Head(h) => Ev::Head(
            h.status,
            h.headers()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
        ),
        ResponseEvent::Data(d) => {
            assert!(!d.is_empty(), "an empty Data event");
            Ev::Data(d.to_vec())
        }
        ResponseEvent::End { reusable } => Ev::End(reusable),
    }
}

/// Feeds `reads` in turn; consecutive Data events are merged (where a body is cut depends on the
/// reads).
fn feed(dec: &mut ResponseDecoder, reads: &[&[u8]]) -> Result<Vec<Ev>, ResponseError> {
    let mut out: Vec<Ev> = Vec::new();
    let mut push = |e: ResponseEvent<'_>| match (out.last_mut(), own(e)) {
        (Some(Ev::Data(a)), Ev::Data(b)) => a.extend_from_slice(&b),
        (_, e) => out.push(e),
    };
    for r in reads {
        dec.decode(r, &mut push)?;
    }
    Ok(out)
}

fn decoder(expected: &[bool]) -> ResponseDecoder {
    let mut dec = ResponseDecoder::new(ResponseLimits::default());
    for &head_only in expected {
        dec.expect(head_only);
    }
    dec
}

fn head(status: u16, headers: &[(&str, &str)]) -> Ev {
    Ev::Head(
        status,
        headers
            .iter()
            .map(|&(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
    )
}

fn data(bytes: &[u8]) -> Ev {
    Ev::Data(bytes.to_vec())
}

/// Every way of cutting `bytes` in two, and byte by byte, decodes to `want`.
fn split_everywhere(bytes: &[u8], expected: &[bool], want: &[Ev]) {
    for i in 0..=bytes.len() {
        let mut dec = decoder(expected);
        let got = feed(&mut dec, &[&bytes[..i], &bytes[i..]]);
        assert_eq!(got.as_deref(), Ok(want), "cut at {i}");
        assert!(dec.idle(), "cut at {i}");
    }
    let mut dec = decoder(expected);
    let bytes: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(feed(&mut dec, &bytes).as_deref(), Ok(want), "byte by byte");
}

#[test]
fn content_length_body_split_at_every_boundary() {
    let bytes =
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world";
    let want = [
        head(
            200,
            &[("Content-Length", "11"), ("Content-Type", "text/plain")],
        ),
        data(b"hello world"),
        Ev::End(true),
    ];
    split_everywhere(bytes, &[false], &want);
}

#[test]
fn chunked_body_split_at_every_boundary() {
    // Two responses, so that the end of the trailers is known to be exact.
    let bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5 ; a=\"b\"\r\npedia\r\n0\r\nX-Trailer: v\r\nY: w\r\n\r\nHTTP/1.1 202 Accepted\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n1\r\nz\r\n0\r\n\r\n";
    let want = [
        head(200, &[("Transfer-Encoding", "chunked")]),
        data(b"Wikipedia"),
        Ev::End(true),
        head(202, &[("Transfer-Encoding", "gzip, CHUNKED")]),
        data(b"z"),
        Ev::End(true),
    ];
    split_everywhere(bytes, &[false, false], &want);
}

#[test]
fn pipelined_responses_in_one_read_are_not_copied() {
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n";
    let mut dec = decoder(&[false, false]);
    let range = bytes.as_ptr_range();
    let mut events = Vec::new();
    let decoded = dec.decode(bytes, |e| {
        if let ResponseEvent::Data(d) = e {
            assert!(range.contains(&d.as_ptr()), "Data is a slice of the input");
        }
        events.push(own(e));
    });
    assert_eq!(decoded, Ok(()));
    assert_eq!(
        events,
        [
            head(200, &[("Content-Length", "3")]),
            data(b"abc"),
            Ev::End(true),
            head(200, &[("Transfer-Encoding", "chunked")]),
            data(b"de"),
            Ev::End(true),
        ]
    );
    assert!(dec.idle());
    assert!(dec.buf.is_empty());
}

#[test]
fn interim_responses_are_skipped() {
    let mut dec = decoder(&[false]);
    let got = feed(
        &mut dec,
        &[b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"],
    );
    assert_eq!(
        got,
        Ok(vec![
            head(200, &[("Content-Length", "2")]),
            data(b"ok"),
            Ev::End(true)
        ])
    );
    let mut dec = decoder(&[false]);
    assert_eq!(
        feed(&mut dec, &[b"HTTP/1.1 101 Switching Protocols\r\n\r\n"]),
        Err(ResponseError::SwitchingProtocols)
    );
}

#[test]
fn no_body_for_204_304_and_head() {
    // Each one's Content-Length says nothing about bytes that follow: the next response does.
    let bytes = b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let want = [
        head(204, &[("Content-Length", "5")]),
        Ev::End(true),
        head(304, &[("Content-Length", "5")]),
        Ev::End(true),
        head(
            200,
            &[("Content-Length", "5"), ("Transfer-Encoding", "chunked")],
        ),
        Ev::End(true),
        head(200, &[("Content-Length", "0")]),
        Ev::End(true),
    ];
    split_everywhere(bytes, &[false, false, true, false], &want);
}

#[test]
fn close_delimited_body_ends_at_eof() {
    for bytes in [
        &b"HTTP/1.1 200 OK\r\n\r\nstream"[..],
        // A final coding other than chunked: the body runs to the close.
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nstream",
    ] {
        let mut dec = decoder(&[false]);
        let mut got = feed(&mut dec, &[&bytes[..20], &bytes[20..]]).unwrap();
        assert!(!dec.idle(), "a close-delimited body is still open");
        assert_eq!(got.pop(), Some(data(&bytes[bytes.len() - 6..])));
        let mut ends = Vec::new();
        assert_eq!(dec.eof(|e| ends.push(own(e))), Ok(()));
        assert_eq!(ends, [Ev::End(false)]);
        assert!(dec.idle());
        assert_eq!(
            dec.decode(b"x", |_| {}),
            Err(ResponseError::AfterClose),
            "nothing may follow the close"
        );
    }
}

#[test]
fn eof_mid_response_is_an_error() {
    let cases: [(&[u8], ResponseError); 5] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
            ResponseError::Truncated,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
            ResponseError::Truncated,
        ),
        (b"HTTP/1.1 200 OK\r\nContent-", ResponseError::Truncated),
        (b"", ResponseError::ClosedBeforeResponse),
        (
            b"HTTP/1.1 100 Continue\r\n\r\n",
            ResponseError::ClosedBeforeResponse,
        ),
    ];
    for (bytes, want) in cases {
        let mut dec = decoder(&[false]);
        assert_eq!(feed(&mut dec, &[bytes]).map(|_| ()), Ok(()));
        assert_eq!(dec.eof(|_| {}), Err(want), "{bytes:?}");
        // The error sticks.
        assert_eq!(dec.decode(b"HTTP/1.1 200 OK\r\n", |_| {}), Err(want));
    }
    // Idle: a clean close.
    let mut dec = decoder(&[]);
    assert_eq!(dec.eof(|_| {}), Ok(()));
}

#[test]
fn content_length_must_be_one_number() {
    let status = |cl: &str| {
        let bytes = format!("HTTP/1.1 200 OK\r\nContent-Length: {cl}\r\n\r\nabc");
        feed(&mut decoder(&[false]), &[bytes.as_bytes()]).map(|ev| ev.len())
    };
    assert_eq!(status("3"), Ok(3));
    assert_eq!(status("3, 3\r\ncontent-length: 3"), Ok(3));
    assert_eq!(
        status("3\r\nContent-Length: 4"),
        Err(ResponseError::ConflictingContentLength)
    );
    assert_eq!(status("3, 4"), Err(ResponseError::ConflictingContentLength));
    for bad in ["+3", "", "0x3", "3 3", "99999999999999999999999"] {
        assert_eq!(
            status(bad),
            Err(ResponseError::InvalidContentLength),
            "{bad:?}"
        );
    }
    let mut dec = decoder(&[false, false]);
    let bad = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    assert_eq!(
        feed(&mut dec, &[bad]),
        Err(ResponseError::ConflictingContentLength)
    );
    // After an error, input is ignored.
    assert_eq!(
        feed(&mut dec, &[b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"]),
        Err(ResponseError::ConflictingContentLength)
    );
    assert!(!dec.idle());
}

#[test]
fn reusable_follows_version_and_connection() {
    let end = |bytes: &[u8]| {
        let got = feed(&mut decoder(&[false]), &[bytes]).unwrap();
        got.last().cloned()
    };
    let cases: [(&[u8], bool); 7] = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        (
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
            false,
        ),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        (
            b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        (
            b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
            false,
        ),
        // Both framings: read as chunked, but the connection is not trusted again.
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            true,
        ),
    ];
    for (bytes, reusable) in cases {
        assert_eq!(end(bytes), Some(Ev::End(reusable)), "{bytes:?}");
    }
    // After a response that closes, the pipelined request behind it gets no answer.
    let mut dec = decoder(&[false, false]);
    let close = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(feed(&mut dec, &[close]).map(|e| e.len()), Ok(2));
    assert_eq!(
        feed(&mut dec, &[b"HTTP/1.1 200 OK\r\n"]),
        Err(ResponseError::AfterClose)
    );
    let mut dec = decoder(&[false, false]);
    assert_eq!(feed(&mut dec, &[close]).map(|e| e.len()), Ok(2));
    assert_eq!(dec.eof(|_| {}), Err(ResponseError::ClosedBeforeResponse));
    assert_eq!(
        feed(
            &mut decoder(&[false]),
            &[b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"]
        ),
        Err(ResponseError::TransferEncodingInHttp10)
    );
}

#[test]
fn limits_bound_what_is_held() {
    let small = ResponseLimits {
        max_headers: 4,
        max_head_bytes: 100,
    };
    let long = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(100));
    // Whole, and arriving a byte at a time (the partial head is refused as it grows).
    let mut dec = ResponseDecoder::new(small);
    dec.expect(false);
    assert_eq!(
        feed(&mut dec, &[long.as_bytes()]),
        Err(ResponseError::HeadTooLarge)
    );
    let mut dec = ResponseDecoder::new(small);
    dec.expect(false);
    let bytes: Vec<&[u8]> = long.as_bytes().chunks(1).collect();
    assert_eq!(feed(&mut dec, &bytes), Err(ResponseError::HeadTooLarge));
    let mut dec = ResponseDecoder::new(small);
    dec.expect(false);
    assert_eq!(
        feed(
            &mut dec,
            &[b"HTTP/1.1 200 OK\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n\r\n"]
        ),
        Err(ResponseError::TooManyHeaders)
    );
    let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (tail, want) in [
        (
            format!("1;{}", "e".repeat(100)),
            ResponseError::ChunkLineTooLong,
        ),
        (
            format!("0\r\nT: {}", "t".repeat(100)),
            ResponseError::TrailersTooLarge,
        ),
        ("+2\r\nab\r\n".to_owned(), ResponseError::BadChunkSize),
        ("2\r\nabc".to_owned(), ResponseError::BadChunkEnd),
    ] {
        let mut dec = ResponseDecoder::new(small);
        dec.expect(false);
        // In a second read, so that the line is held between reads.
        let got = feed(
            &mut dec,
            &[chunked, &tail.as_bytes()[..1], &tail.as_bytes()[1..]],
        );
        assert_eq!(got, Err(want), "{tail:?}");
    }
    let mut dec = decoder(&[false]);
    assert_eq!(
        feed(&mut dec, &[b"\x00\x01garbage\r\n\r\n"]),
        Err(ResponseError::Malformed)
    );
}

#[test]
fn bytes_with_nothing_expected_are_an_error() {
    let mut dec = decoder(&[]);
    assert!(dec.idle());
    assert_eq!(
        feed(&mut dec, &[b"HTTP/1.1 408 Request Timeout\r\n\r\n"]),
        Err(ResponseError::Unsolicited)
    );
    // One response expected, two arrive.
    let mut dec = decoder(&[false]);
    let two = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n";
    let mut events = 0;
    assert_eq!(
        dec.decode(two, |_| events += 1),
        Err(ResponseError::Unsolicited)
    );
    assert_eq!(events, 2);
}

#[test]
fn an_endless_chunked_stream_emits_data_as_it_arrives() {
    let mut dec = decoder(&[false]);
    let head_bytes =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(
        feed(&mut dec, &[head_bytes]),
        Ok(vec![head(
            200,
            &[
                ("Content-Type", "text/event-stream"),
                ("Transfer-Encoding", "chunked")
            ]
        )])
    );
    for i in 0..50 {
        let event = format!("data: {i}\n\n");
        let chunk = format!("{:x}\r\n{event}\r\n", event.len());
        // The chunk's data comes out in the read that carries it, CRLF or not.
        let (first, second) = chunk.as_bytes().split_at(chunk.len() - 2);
        assert_eq!(
            feed(&mut dec, &[first]),
            Ok(vec![data(event.as_bytes())]),
            "{i}"
        );
        assert_eq!(feed(&mut dec, &[second]), Ok(vec![]));
        assert!(dec.buf.is_empty(), "no body byte is held");
        assert!(!dec.idle());
    }
    assert_eq!(feed(&mut dec, &[b"0\r\n\r\n"]), Ok(vec![Ev::End(true)]));
    assert!(dec.idle());
}

#[test]
fn headers_keep_their_order_and_case() {
    let mut dec = decoder(&[false]);
    let mut heads = Vec::new();
    let bytes = b"HTTP/1.1 200 OK\r\nMcp-Session-Id:  abc \r\nX-Empty:\r\nX-Bytes: a\xffb\r\nmcp-session-id: second\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(
        dec.decode(bytes, |e| {
            if let ResponseEvent::Head(h) = e {
                heads.push(h);
            }
        }),
        Ok(())
    );
    let h = &heads[0];
    assert_eq!(h.header("MCP-SESSION-ID"), Some("abc"));
    assert_eq!(h.header("x-empty"), Some(""));
    assert_eq!(h.header("x-bytes"), Some("a\u{fffd}b"));
    assert_eq!(h.header("absent"), None);
    assert_eq!(h.headers().count(), 5);
    assert_eq!(
        format!("{h:?}"),
        "ResponseHead { status: 200, headers: [(\"Mcp-Session-Id\", \"abc\"), (\"X-Empty\", \"\"), (\"X-Bytes\", \"a\u{fffd}b\"), (\"mcp-session-id\", \"second\"), (\"Content-Length\", \"0\")] }"
    );
}

#[test]
fn release_keeps_a_response_that_is_arriving() {
    let mut dec = decoder(&[false, false]);
    let bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-";
    assert_eq!(feed(&mut dec, &[bytes]).map(|e| e.len()), Ok(2));
    dec.release();
    assert_eq!(
        feed(&mut dec, &[b"Length: 1\r\n\r\nx"]).map(|e| e.len()),
        Ok(3)
    );
    assert!(dec.idle());
    dec.release();
    assert_eq!(dec.buf.capacity(), 0);
}

#[test]
fn request_head_bytes() {
    let mut out = b"prefix".to_vec();
    write_request_head(
        &mut out,
        "POST",
        "/mcp?x=1",
        "127.0.0.1:8080",
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ],
        Some(42),
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "prefixPOST /mcp?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 42\r\n\r\n"
    );
    let mut out = Vec::new();
    write_request_head(&mut out, "GET", "/mcp", "h", &[], None);
    assert_eq!(out, b"GET /mcp HTTP/1.1\r\nHost: h\r\n\r\n");
}
