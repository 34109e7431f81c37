#![allow(clippy::unwrap_used)]
use super::*;

fn answers(reader: &mut ResponseReader, pieces: &[&[u8]]) -> Vec<Answer> {
    let mut out = Vec::new();
    for piece in pieces {
        reader.feed(piece, |a| out.push(a)).unwrap();
    }
    out
}

/// `bytes` fed one byte at a time, then whole, then split at every position into two reads:
/// each way must give the same answers.
fn every_split(sent: usize, bytes: &[u8]) -> Vec<Answer> {
    let fresh = || {
        let mut r = ResponseReader::new(Transport::Http);
        r.sent(sent);
        r
    };
    let whole = answers(&mut fresh(), &[bytes]);
    let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(answers(&mut fresh(), &bytewise), whole, "byte by byte");
    for at in 0..=bytes.len() {
        let (a, b) = bytes.split_at(at);
        assert_eq!(answers(&mut fresh(), &[a, b]), whole, "split at {at}");
    }
    whole
}

#[test]
fn lines_split_anywhere() {
    let mut r = ResponseReader::new(Transport::Tcp);
    let a = answers(
        &mut r,
        &[
            b"{\"id\":1,\"result\":{}}\n{\"id\":2,\"er",
            b"ror\":{}}\n{\"method\":\"notifications/x\"}\n",
        ],
    );
    assert_eq!(
        a,
        [
            Answer::Response(false),
            Answer::Response(true),
            Answer::Notification
        ]
    );
}

#[test]
fn http_length_and_chunked() {
    let json = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nMcp-Session-Id: s1\r\n\r\n{\"result\":1}";
    let sse = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ndata:\r\n9\r\n\"error\":1\r\n0\r\n\r\n";
    let mut r = ResponseReader::new(Transport::Http);
    r.sent(3);
    let mut out = Vec::new();
    for piece in json[..json.len() - 1].chunks(7) {
        r.feed(piece, |a| out.push(a)).unwrap();
    }
    r.feed(&json[json.len() - 1..], |a| out.push(a)).unwrap();
    assert_eq!(r.session.as_deref(), Some("s1"));
    r.feed(sse, |a| out.push(a)).unwrap();
    r.feed(
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
        |a| out.push(a),
    )
    .unwrap();
    assert_eq!(
        out,
        [
            Answer::Response(false),
            Answer::Response(true),
            Answer::Response(true)
        ]
    );
}

/// An SSE answer in chunks whose boundaries do not follow the events: a progress notification,
/// then the result, as a tool call with progress answers.
fn sse_answer(result: &str) -> Vec<u8> {
    let events = format!(
        "id: 1\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}}\r\n\r\n\
         data: {result}\n\n"
    );
    let mut bytes =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    let (a, b) = events.as_bytes().split_at(30);
    for chunk in [a, b] {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    bytes
}

#[test]
fn chunked_sse_answer_split_at_every_byte() {
    let ok = sse_answer(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#);
    assert_eq!(
        every_split(1, &ok),
        [Answer::Notification, Answer::Response(false)]
    );
    let failed = sse_answer(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-1}}"#);
    assert_eq!(
        every_split(1, &failed),
        [Answer::Notification, Answer::Response(true)]
    );
}

#[test]
fn pipelined_pair_split_at_every_byte() {
    let mut pair = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"a\":1}}".to_vec();
    pair.extend_from_slice(&sse_answer(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#));
    assert_eq!(
        every_split(2, &pair),
        [
            Answer::Response(true),
            Answer::Notification,
            Answer::Response(false)
        ]
    );
}

#[test]
fn unrequested_response_is_an_error() {
    let mut r = ResponseReader::new(Transport::Http);
    let got = r.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", |_| {});
    assert!(matches!(got, Err(ReadError::Http(_))), "{got:?}");
}

#[test]
fn listen_stream_events_are_notifications() {
    let update = b"event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/resources/updated\"}\n\n";
    let mut stream = format!("{:x}\r\n", update.len()).into_bytes();
    stream.extend_from_slice(update);
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(b"f\r\n: keep-alive\n\n\n\r\n");
    stream.extend_from_slice(&stream.clone());
    let mut r = ResponseReader::new(Transport::Http);
    r.sent(1);
    let head =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(answers(&mut r, &[head]), []);
    let pieces: Vec<&[u8]> = stream.chunks(5).collect();
    assert_eq!(
        answers(&mut r, &pieces),
        [Answer::Notification, Answer::Notification]
    );
}

#[test]
fn json_bodies_are_judged_across_reads() {
    let response = |body: &str| {
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let ok = response(r#"{"jsonrpc":"2.0","id":1,"result":{"text":"error: \"error\" is text"}}"#);
    let failed = response(r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602}}"#);
    assert_eq!(every_split(1, ok.as_bytes()), [Answer::Response(false)]);
    assert_eq!(every_split(1, failed.as_bytes()), [Answer::Response(true)]);
}
