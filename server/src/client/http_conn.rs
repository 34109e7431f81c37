//! [`McpHttpConn`]: the net ring's side of one keep-alive connection of a Streamable HTTP client
//! session. It decodes the responses (`ringmcp_proto`'s response decoder), reads each body as the
//! specification allows: a JSON message, an SSE stream of messages (`text/event-stream`), or
//! nothing (`202 Accepted`), and hands every message to the session's [`Link`]; it tells the link
//! when an answer has ended (with where an SSE stream could be resumed), so the pool can give the
//! connection its next exchange, and keeps the session id the server names.
//!
//! Bytes in only: requests are written by the pool ([`super::http`]). It must not decide what a
//! message means (the link and the sans-IO session do).

use super::link::{Link, Resume};
use ringmcp_proto::framing::http::{ResponseDecoder, ResponseEvent, ResponseHead, ResponseLimits};
use ringmcp_proto::framing::sse::SseDecoder;
use ringmcp_proto::streamable_http::SESSION_HEADER;
use std::cell::Cell;
use std::rc::Rc;

/// How the body of the response now arriving is read.
enum Body {
    /// Between responses, or a body that carries no message (`202`, `204`).
    Skip,
    /// A whole JSON message (or a batch), collected up to the size limit.
    Json(Vec<u8>),
    /// A stream of messages, one per event.
    Sse(Box<SseDecoder>),
}

/// One HTTP connection of a client session, as the net ring sees it.
pub(crate) struct McpHttpConn {
    decoder: ResponseDecoder,
    /// Requests the pool has written and the decoder has not been told of yet.
    sent: Rc<Cell<u32>>,
    reader: Reader,
}

/// What reading responses needs besides the decoder (a separate value, so that the decoder's
/// callback may borrow it).
struct Reader {
    link: Rc<Link>,
    /// The connection's key in the session's pool.
    slot: usize,
    status: u16,
    body: Body,
    /// Why the connection is to close once its queued bytes are sent (set once).
    done: Option<String>,
}

impl McpHttpConn {
    /// The connection `slot` of `link`'s pool; the pool counts the requests it writes in `sent`.
    pub(super) fn new(link: Rc<Link>, slot: usize, sent: Rc<Cell<u32>>) -> Self {
        McpHttpConn {
            decoder: ResponseDecoder::new(ResponseLimits::default()),
            sent,
            reader: Reader {
                link,
                slot,
                status: 0,
                body: Body::Skip,
                done: None,
            },
        }
    }

    /// Bytes from the server.
    pub(crate) fn on_bytes(&mut self, data: &[u8]) {
        if self.reader.done.is_some() {
            return;
        }
        for _ in 0..self.sent.replace(0) {
            self.decoder.expect(false);
        }
        let reader = &mut self.reader;
        if let Err(e) = self.decoder.decode(data, |event| reader.on_event(event)) {
            reader.give_up(format!("unreadable response: {e}"));
        }
    }

    /// Whether an answer is still awaited on this connection.
    pub(crate) fn busy(&self, eof: bool) -> bool {
        !eof && self.reader.done.is_none()
            && !self.reader.link.is_down()
            && (self.sent.get() > 0 || !self.decoder.idle())
    }

    /// Stop reading for `why`: the exchange in flight is lost, and the connection closes.
    pub(crate) fn give_up(&mut self, why: String) {
        if self.reader.done.is_none() {
            self.reader.give_up(why);
        }
    }

    /// Give back the buffers kept between responses.
    pub(crate) fn release_idle(&mut self) {
        self.decoder.release();
    }

    /// The driver closed the connection: a body delimited by the close ends here; anything else
    /// in flight is lost.
    pub(crate) fn close(&mut self) {
        let reader = &mut self.reader;
        if reader.done.is_some() {
            return;
        }
        let ended = self.decoder.eof(|event| reader.on_event(event));
        if reader.done.is_none() {
            let why = match ended {
                Ok(()) => "the connection was closed".to_owned(),
                Err(e) => format!("the connection was closed mid-response: {e}"),
            };
            reader.give_up(why);
        }
    }

    /// Whether the connection should close once its queued bytes are sent.
    pub(crate) fn close_after_send(&self) -> bool {
        self.reader.done.is_some() || self.reader.link.is_down()
    }
}

impl Reader {
    fn on_event(&mut self, event: ResponseEvent<'_>) {
        if self.done.is_some() {
            return;
        }
        match event {
            ResponseEvent::Head(head) => self.on_head(&head),
            ResponseEvent::Data(bytes) => self.on_data(bytes),
            ResponseEvent::End { reusable } => self.on_end(reusable),
        }
    }

    fn on_head(&mut self, head: &ResponseHead) {
        self.status = head.status;
        if let Some(id) = head.header(SESSION_HEADER) {
            self.link.http_session_id(id);
        }
        let media = head
            .header("content-type")
            .and_then(|v| v.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        self.body = if media.eq_ignore_ascii_case("text/event-stream") {
            Body::Sse(Box::new(SseDecoder::new(self.link.max_message())))
        } else if matches!(head.status, 202 | 204) {
            Body::Skip
        } else {
            Body::Json(Vec::new())
        };
    }

    fn on_data(&mut self, bytes: &[u8]) {
        let max = self.link.max_message();
        match &mut self.body {
            Body::Skip => {}
            Body::Json(body) => {
                if body.len() + bytes.len() > max {
                    self.give_up(format!("a response body over the {max}-byte limit"));
                    return;
                }
                body.extend_from_slice(bytes);
            }
            Body::Sse(sse) => {
                let link = &self.link;
                sse.decode(bytes, |event| {
                    // Events without data are the server's priming and keep-alive events.
                    if !event.data.is_empty() {
                        link.on_line(event.data.as_bytes());
                    }
                });
            }
        }
    }

    fn on_end(&mut self, reusable: bool) {
        let resume = match std::mem::replace(&mut self.body, Body::Skip) {
            Body::Json(body) => {
                if !body.is_empty() {
                    self.link.on_line(&body);
                }
                None
            }
            Body::Sse(sse) => resume_point(&sse),
            Body::Skip => None,
        };
        if !reusable {
            self.done = Some("the server closes the connection".into());
        }
        self.link
            .http_finished(self.slot, self.status, reusable, resume);
    }

    /// Stop reading: the exchange in flight is lost (or its stream resumed on another
    /// connection), and the connection closes.
    fn give_up(&mut self, why: String) {
        tracing::debug!(reason = %why, "closing an HTTP client connection");
        let resume = match std::mem::replace(&mut self.body, Body::Skip) {
            Body::Sse(sse) => resume_point(&sse),
            _ => None,
        };
        self.link.http_closed(self.slot, &why, resume);
        self.done = Some(why);
    }
}

/// Where the stream `sse` read can be resumed from: its last event id, if it sent one.
fn resume_point(sse: &SseDecoder) -> Option<Resume> {
    sse.last_event_id().map(|id| Resume {
        last_event_id: id.to_owned(),
        retry_ms: sse.retry_ms(),
    })
}
