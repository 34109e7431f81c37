//! Finds complete answers in the bytes one load-generator connection receives and says whether
//! each is an error or a server notification. Framing is the client's own: ndjson lines through
//! [`NdjsonCodec`], HTTP/1.1 responses through [`ResponseDecoder`]. What is left here is only
//! the load generator's judgement of a message (a byte search, no JSON parsing: it must cost the
//! generator next to nothing per answer). No I/O, no clocks.

use ringmcp_proto::framing::http::{
    ResponseDecoder, ResponseError, ResponseEvent, ResponseHead, ResponseLimits,
};
use ringmcp_proto::framing::ndjson::{Frame, NdjsonCodec};
use ringmcp_proto::streamable_http::SESSION_HEADER;

use super::Transport;

/// The longest line, JSON body or SSE event read (the server's answers are far shorter; this
/// only bounds what a broken peer can make the generator hold).
const MAX_MESSAGE: usize = 16 << 20;

/// One complete thing read from a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The answer to a request; `true` when it is a JSON-RPC error or an HTTP error status.
    Response(bool),
    /// A server notification (listen).
    Notification,
}

/// Why received bytes cannot be read as answers; the connection is then useless.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Not an HTTP/1.1 response stream.
    #[error("unreadable HTTP response: {0}")]
    Http(#[from] ResponseError),
    /// A line, JSON body or SSE event longer than [`MAX_MESSAGE`].
    #[error("a message over 16 MiB")]
    TooLong,
}

/// Finds complete answers in received bytes.
#[derive(Debug)]
pub struct ResponseReader {
    framing: Framing,
    /// HTTP: the `Mcp-Session-Id` of the last response head that carried one.
    pub session: Option<String>,
}

#[derive(Debug)]
enum Framing {
    Lines(NdjsonCodec),
    Http(Box<HttpReader>),
}

#[derive(Debug)]
struct HttpReader {
    decoder: ResponseDecoder,
    body: Body,
}

/// The response body being read.
#[derive(Debug, Default)]
struct Body {
    /// The status is an error (>= 400), or an event or the body carried a JSON-RPC error.
    failed: bool,
    /// `text/event-stream`: events are judged one by one as they end.
    sse: bool,
    /// The JSON body, or the SSE event, read so far; kept between responses for its capacity.
    unit: Vec<u8>,
    /// Set when `unit` would outgrow [`MAX_MESSAGE`].
    too_long: bool,
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn has_error(bytes: &[u8]) -> bool {
    contains(bytes, b"\"error\":")
}

fn is_notification(bytes: &[u8]) -> bool {
    contains(bytes, b"\"method\":\"notifications")
}

/// Where the first SSE event in `data` ends (after its blank line), looking for the blank line
/// from `from` on. Servers end lines with LF or CRLF here; a bare-CR stream is not expected.
fn event_end(data: &[u8], from: usize) -> Option<usize> {
    let mut at = from;
    while let Some(i) = data.get(at..)?.iter().position(|&b| b == b'\n') {
        let nl = at + i;
        match data.get(nl + 1..) {
            Some([b'\n', ..]) => return Some(nl + 2),
            Some([b'\r', b'\n', ..]) => return Some(nl + 3),
            _ => at = nl + 1,
        }
    }
    None
}

impl Body {
    fn start(&mut self, head: &ResponseHead) {
        self.failed = head.status >= 400;
        self.sse = head
            .header("content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/event-stream"));
        self.unit.clear();
    }

    fn data(&mut self, bytes: &[u8], on_answer: &mut impl FnMut(Answer)) {
        if self.unit.len() + bytes.len() > MAX_MESSAGE {
            self.too_long = true;
            return;
        }
        if !self.sse {
            self.unit.extend_from_slice(bytes);
            return;
        }
        if self.unit.is_empty() {
            // Whole events are judged where they lie; only an unfinished one is copied.
            let used = self.events(bytes, 0, on_answer);
            self.unit.extend_from_slice(&bytes[used..]);
        } else {
            // The blank line may have begun in the bytes held.
            let from = self.unit.len().saturating_sub(2);
            let mut unit = std::mem::take(&mut self.unit);
            unit.extend_from_slice(bytes);
            let used = self.events(&unit, from, on_answer);
            unit.drain(..used);
            self.unit = unit;
        }
    }

    /// Judge every complete event in `data` (searching for the first one's end from `from`);
    /// returns the bytes they took.
    fn events(&mut self, data: &[u8], from: usize, on_answer: &mut impl FnMut(Answer)) -> usize {
        let mut used = 0;
        let mut search = from;
        while let Some(end) = event_end(data, search) {
            self.event(&data[used..end], on_answer);
            used = end;
            search = end;
        }
        used
    }

    fn event(&mut self, event: &[u8], on_answer: &mut impl FnMut(Answer)) {
        self.failed |= has_error(event);
        // A notification on a listen stream, or a progress notice ahead of an answer.
        if is_notification(event) {
            on_answer(Answer::Notification);
        }
    }

    fn end(&mut self, on_answer: &mut impl FnMut(Answer)) {
        let unit = std::mem::take(&mut self.unit);
        if self.sse {
            if !unit.is_empty() {
                self.event(&unit, on_answer);
            }
        } else {
            self.failed |= has_error(&unit);
        }
        self.unit = unit;
        self.unit.clear();
        on_answer(Answer::Response(self.failed));
    }
}

impl ResponseReader {
    /// A reader for one connection, expecting nothing yet.
    pub fn new(transport: Transport) -> Self {
        let framing = match transport {
            Transport::Tcp => Framing::Lines(NdjsonCodec::new(MAX_MESSAGE)),
            Transport::Http => Framing::Http(Box::new(HttpReader {
                decoder: ResponseDecoder::new(ResponseLimits::default()),
                body: Body::default(),
            })),
        };
        ResponseReader {
            framing,
            session: None,
        }
    }

    /// `count` more requests went out: HTTP answers are matched to requests in order, so the
    /// reader must know how many it awaits. (Lines need no count.)
    pub fn sent(&mut self, count: usize) {
        if let Framing::Http(http) = &mut self.framing {
            for _ in 0..count {
                http.decoder.expect(false);
            }
        }
    }

    /// Feed received bytes; `on_answer` is called once per complete answer. `Err` when the bytes
    /// cannot be read as answers.
    pub fn feed(
        &mut self,
        data: &[u8],
        mut on_answer: impl FnMut(Answer),
    ) -> Result<(), ReadError> {
        match &mut self.framing {
            Framing::Lines(codec) => {
                let mut too_long = false;
                codec.decode(data, |frame| match frame {
                    Frame::Line(line) if is_notification(line) => on_answer(Answer::Notification),
                    Frame::Line(line) => on_answer(Answer::Response(has_error(line))),
                    Frame::Oversize => too_long = true,
                });
                match too_long {
                    true => Err(ReadError::TooLong),
                    false => Ok(()),
                }
            }
            Framing::Http(http) => {
                let HttpReader { decoder, body } = &mut **http;
                let session = &mut self.session;
                decoder.decode(data, |event| match event {
                    ResponseEvent::Head(head) => {
                        body.start(&head);
                        if let Some(id) = head.header(SESSION_HEADER) {
                            if session.as_deref() != Some(id) {
                                *session = Some(id.to_owned());
                            }
                        }
                    }
                    ResponseEvent::Data(bytes) => body.data(bytes, &mut on_answer),
                    ResponseEvent::End { .. } => body.end(&mut on_answer),
                })?;
                match body.too_long {
                    true => Err(ReadError::TooLong),
                    false => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
