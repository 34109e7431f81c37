//! Finds complete answers in the bytes one load-generator connection receives and says whether
//! each is an error or a server notification. Framing is the client's own: ndjson lines through
//! [`NdjsonCodec`], HTTP/1.1 responses through [`ResponseDecoder`]. What is left here is only
//! the load generator's judgement of a message: a byte search, no JSON parsing and no copy of
//! a body, since it must cost the generator next to nothing per answer. No I/O, no clocks.

use memchr::memmem::Finder;
use ringmcp_proto::framing::http::{ResponseDecoder, ResponseError, ResponseEvent, ResponseLimits};
use ringmcp_proto::framing::ndjson::{Frame, NdjsonCodec};
use ringmcp_proto::streamable_http::SESSION_HEADER;
use std::sync::LazyLock;

use super::Transport;

/// The longest line read (the server's answers are far shorter; this only bounds what a broken
/// peer can make the generator hold).
const MAX_LINE: usize = 16 << 20;

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
    /// A line longer than 16 MiB.
    #[error("a line over 16 MiB")]
    TooLong,
}

/// Finds complete answers in received bytes.
#[derive(Debug)]
pub struct ResponseReader {
    framing: Framing,
    /// HTTP: the `Mcp-Session-Id` of the connection's first answer, if it had one (a session's
    /// id comes with its initialize answer, and the generator never asks for another).
    pub session: Option<String>,
}

#[derive(Debug)]
enum Framing {
    Lines(NdjsonCodec),
    Http {
        decoder: ResponseDecoder,
        body: Body,
        /// A response head has been read (the one the session id may come with).
        answered: bool,
    },
}

const ERROR: &[u8] = b"\"error\":";
const NOTIFICATION: &[u8] = b"\"method\":\"notifications";

// Built once: building a searcher costs as much as searching a whole answer.
static ERROR_FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(ERROR));
static NOTIFICATION_FINDER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(NOTIFICATION));

/// Bytes of a body kept from one read to the next: a needle split between two reads starts in
/// them.
const TAIL: usize = NOTIFICATION.len() - 1;

fn has_error(bytes: &[u8]) -> bool {
    ERROR_FINDER.find(bytes).is_some()
}

fn is_notification(bytes: &[u8]) -> bool {
    NOTIFICATION_FINDER.find(bytes).is_some()
}

/// The response body being read. A JSON body and an SSE body are read alike: every
/// notification in it (one per SSE event: a listen stream's update, a progress notice ahead of
/// an answer) is an [`Answer::Notification`] as it arrives, and `"error":` anywhere in it makes
/// the answer an error. So neither the media type nor event boundaries need reading, and no
/// body is copied.
#[derive(Debug, Default)]
struct Body {
    /// The status is an error (>= 400), or the body so far carried a JSON-RPC error.
    failed: bool,
    /// The last bytes of the body so far (`tail_len` of them).
    tail: [u8; TAIL],
    tail_len: usize,
}

impl Body {
    fn start(&mut self, status: u16) {
        self.failed = status >= 400;
        self.tail_len = 0;
    }

    fn data(&mut self, bytes: &[u8], on_answer: &mut impl FnMut(Answer)) {
        let held = self.tail_len;
        if held > 0 {
            // Only a needle that begins in the tail and ends in the new bytes is new here.
            let mut join = [0u8; 2 * TAIL];
            let next = bytes.len().min(TAIL);
            join[..held].copy_from_slice(&self.tail[..held]);
            join[held..held + next].copy_from_slice(&bytes[..next]);
            let join = &join[..held + next];
            let straddles = |at: usize, len: usize| at < held && at + len > held;
            self.failed |= ERROR_FINDER
                .find_iter(join)
                .any(|at| straddles(at, ERROR.len()));
            let split = NOTIFICATION_FINDER
                .find_iter(join)
                .filter(|&at| straddles(at, NOTIFICATION.len()))
                .count();
            for _ in 0..split {
                on_answer(Answer::Notification);
            }
        }
        self.failed |= has_error(bytes);
        for _ in NOTIFICATION_FINDER.find_iter(bytes) {
            on_answer(Answer::Notification);
        }
        if bytes.len() >= TAIL {
            self.tail.copy_from_slice(&bytes[bytes.len() - TAIL..]);
            self.tail_len = TAIL;
        } else {
            // Fewer new bytes than the tail holds: keep the newest of old and new.
            let keep = (TAIL - bytes.len()).min(held);
            self.tail.copy_within(held - keep..held, 0);
            self.tail[keep..keep + bytes.len()].copy_from_slice(bytes);
            self.tail_len = keep + bytes.len();
        }
    }
}

impl ResponseReader {
    /// A reader for one connection, expecting nothing yet.
    pub fn new(transport: Transport) -> Self {
        let framing = match transport {
            Transport::Tcp => Framing::Lines(NdjsonCodec::new(MAX_LINE)),
            Transport::Http => Framing::Http {
                decoder: ResponseDecoder::new(ResponseLimits::default()),
                body: Body::default(),
                answered: false,
            },
        };
        ResponseReader {
            framing,
            session: None,
        }
    }

    /// `count` more requests went out: HTTP answers are matched to requests in order, so the
    /// reader must know how many it awaits. (Lines need no count.)
    pub fn sent(&mut self, count: usize) {
        if let Framing::Http { decoder, .. } = &mut self.framing {
            for _ in 0..count {
                decoder.expect(false);
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
            Framing::Http {
                decoder,
                body,
                answered,
            } => {
                let session = &mut self.session;
                decoder.decode(data, |event| match event {
                    ResponseEvent::Head(head) => {
                        if !std::mem::replace(answered, true) {
                            *session = head.header(SESSION_HEADER).map(str::to_owned);
                        }
                        body.start(head.status);
                    }
                    ResponseEvent::Data(bytes) => body.data(bytes, &mut on_answer),
                    ResponseEvent::End { .. } => on_answer(Answer::Response(body.failed)),
                })?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
