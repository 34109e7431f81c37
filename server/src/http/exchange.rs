//! [`Exchange`]: one HTTP response as an [`Outlet`]. A reply starts undecided: if the answer comes
//! first it goes out as one `application/json` body; if a notification or a server-to-client request
//! comes first the response becomes an SSE stream (chunked), which the answer then ends. Streams
//! (GET, `subscriptions/listen`, the legacy `/sse` endpoint) are SSE from the start.
//!
//! Bytes go to the connection's [`Outbox`]; the connection serves the next pipelined request
//! once the exchange is done.

use crate::netring::Outbox;
use crate::service::{MsgKind, Outlet};
use ringmcp_proto::framing::{http, sse};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Where an exchange's bytes go: the connection's outbox, or the mesh back to the shard that holds
/// the connection.
pub(crate) trait ResponseSink {
    /// Append raw response bytes.
    fn write_raw(&self, write: &mut dyn FnMut(&mut Vec<u8>));
    /// The response is complete (the connection may serve its next request).
    fn finished(&self, _keep_alive: bool) {}
}

impl ResponseSink for Outbox {
    fn write_raw(&self, write: &mut dyn FnMut(&mut Vec<u8>)) {
        self.send_raw(|out| write(out));
    }
}

/// A response a connection waits on before serving its next pipelined request.
pub(crate) trait Pending {
    /// The response is complete.
    fn is_done(&self) -> bool;
    /// The connection may serve another request afterwards.
    fn keep_alive(&self) -> bool;
    /// The connection is gone.
    fn close(&self);
    /// The response is an open-ended stream (a peer that stops sending ends it).
    fn is_stream(&self) -> bool;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fresh,
    Streaming,
    Done,
    Closed,
}

/// How JSON-RPC errors in a plain reply map to HTTP statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StatusMap {
    /// 2026-07-28: unknown method 404; header, version and capability errors 400.
    Modern,
    /// Session-based revisions: malformed JSON-RPC 400, everything else 200.
    Legacy,
}

impl StatusMap {
    fn status(self, code: i32) -> u16 {
        use ringmcp_proto::jsonrpc::code::*;
        match (self, code) {
            (_, PARSE_ERROR | INVALID_REQUEST) => 400,
            (StatusMap::Modern, METHOD_NOT_FOUND) => 404,
            (
                StatusMap::Modern,
                HEADER_MISMATCH | MISSING_CLIENT_CAPABILITY | UNSUPPORTED_PROTOCOL_VERSION,
            ) => 400,
            _ => 200,
        }
    }
}

/// One HTTP response in progress.
pub(crate) struct Exchange {
    outbox: Rc<dyn ResponseSink>,
    keep_alive: bool,
    statuses: Cell<StatusMap>,
    headers: RefCell<Vec<(&'static str, String)>>,
    state: Cell<State>,
    /// A standing stream rather than one request's reply.
    stream: Cell<bool>,
    on_close: RefCell<Option<Box<dyn FnOnce()>>>,
    /// State the exchange keeps alive until it is done (a stateless request's session).
    kept: RefCell<Vec<Rc<dyn std::any::Any>>>,
}

impl Exchange {
    /// A reply (JSON, upgraded to SSE when needed) on `outbox`.
    pub(crate) fn reply(
        outbox: Rc<dyn ResponseSink>,
        keep_alive: bool,
        statuses: StatusMap,
    ) -> Rc<Self> {
        Rc::new(Exchange {
            outbox,
            keep_alive,
            statuses: Cell::new(statuses),
            headers: RefCell::new(Vec::new()),
            state: Cell::new(State::Fresh),
            stream: Cell::new(false),
            on_close: RefCell::new(None),
            kept: RefCell::new(Vec::new()),
        })
    }

    /// A standing SSE stream; its head is written at once.
    pub(crate) fn stream(
        outbox: Rc<dyn ResponseSink>,
        keep_alive: bool,
        headers: Vec<(&'static str, String)>,
    ) -> Rc<Self> {
        let ex = Self::reply(outbox, keep_alive, StatusMap::Legacy);
        *ex.headers.borrow_mut() = headers;
        ex.begin_stream();
        ex
    }

    /// Make a reply nothing was written to yet a standing SSE stream, and write its head (a
    /// GET whose session had to be loaded first).
    pub(crate) fn begin_stream(&self) {
        if self.state.get() == State::Fresh {
            self.stream.set(true);
            self.open_stream();
        }
    }

    /// How JSON-RPC errors map to HTTP statuses for this reply (before anything is written).
    pub(crate) fn set_statuses(&self, statuses: StatusMap) {
        self.statuses.set(statuses);
    }

    /// Add a response header (before anything is written).
    pub(crate) fn add_header(&self, name: &'static str, value: String) {
        self.headers.borrow_mut().push((name, value));
    }

    /// Run `f` if the client goes away before the exchange is done (cancellation).
    pub(crate) fn on_close(&self, f: impl FnOnce() + 'static) {
        *self.on_close.borrow_mut() = Some(Box::new(f));
    }

    /// Keep `value` alive until the exchange is done or closed (it may refer back to the
    /// exchange: the reference is dropped then, so no cycle outlives the response).
    pub(crate) fn keep(&self, value: Rc<dyn std::any::Any>) {
        if !self.is_done() {
            self.kept.borrow_mut().push(value);
        }
    }

    /// Append raw bytes with a one-shot writer.
    fn raw(&self, f: impl FnOnce(&mut Vec<u8>)) {
        let mut f = Some(f);
        self.outbox.write_raw(&mut |out| {
            if let Some(f) = f.take() {
                f(out)
            }
        });
    }

    fn set_done(&self, state: State) {
        let was = self.state.replace(state);
        if state == State::Done && was != State::Done {
            self.outbox.finished(self.keep_alive);
            // A done exchange never runs its close hook: dropping it now lets go of what it
            // refers to (a stateless request's session, then renewed for the next request).
            let hook = self.on_close.borrow_mut().take();
            drop(hook);
        }
        let kept = std::mem::take(&mut *self.kept.borrow_mut());
        drop(kept);
    }

    /// Whether the response is complete.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state.get(), State::Done | State::Closed)
    }

    /// Answer with a complete response now (errors, 202, 204).
    pub(crate) fn respond(&self, status: u16, content_type: Option<&str>, body: &[u8]) {
        if self.state.get() != State::Fresh {
            return;
        }
        {
            let extra = self.headers.borrow();
            let mut headers: Vec<(&str, &str)> =
                extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
            if let Some(ct) = content_type {
                headers.push(("Content-Type", ct));
            }
            let keep_alive = self.keep_alive;
            self.raw(|out| {
                http::write_head(out, status, &headers, Some(body.len()), keep_alive);
                out.extend_from_slice(body);
            });
        }
        // Bytes first: a sink forwarding over the mesh must deliver them before "done".
        self.set_done(State::Done);
    }

    /// End a stream (or an upgraded reply).
    pub(crate) fn finish(&self) {
        match self.state.get() {
            State::Streaming => {
                self.raw(http::write_last_chunk);
                self.set_done(State::Done);
            }
            State::Fresh => self.respond(204, None, b""),
            State::Done | State::Closed => {}
        }
    }

    /// Send an SSE comment (keep-alive) on an open stream.
    pub(crate) fn comment(&self, text: &str) {
        if self.state.get() == State::Streaming {
            let mut body = Vec::new();
            sse::write_comment(&mut body, text);
            self.raw(|out| http::write_chunk(out, &body));
        }
    }

    /// Send one SSE event with an explicit type (the legacy `/sse` endpoint's `endpoint` event).
    pub(crate) fn event(&self, event: &str, data: &[u8]) {
        if self.state.get() == State::Streaming {
            self.write_event(Some(event), data);
        }
    }

    /// Send one numbered `message` event on an open stream (a session's replayable stream).
    /// An empty `id` sends the event without one.
    pub(crate) fn event_with_id(&self, id: &str, data: &[u8]) {
        if self.state.get() == State::Streaming {
            let mut body = Vec::with_capacity(data.len() + 32);
            let id = (!id.is_empty()).then_some(id);
            sse::write_event(&mut body, id, Some("message"), data);
            self.raw(|out| http::write_chunk(out, &body));
        }
    }

    /// The connection is gone: nothing more is written; the close hook runs if not done.
    pub(crate) fn close(&self) {
        let was = self.state.get();
        self.set_done(State::Closed);
        if matches!(was, State::Fresh | State::Streaming) {
            let hook = self.on_close.borrow_mut().take();
            if let Some(f) = hook {
                f();
            }
        }
    }

    fn open_stream(&self) {
        self.state.set(State::Streaming);
        let extra = self.headers.borrow();
        let mut headers: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
        headers.extend([
            ("Content-Type", "text/event-stream"),
            ("Cache-Control", "no-cache"),
            ("X-Accel-Buffering", "no"),
        ]);
        let keep_alive = self.keep_alive;
        self.raw(|out| http::write_head(out, 200, &headers, None, keep_alive));
    }

    fn write_event(&self, event: Option<&str>, data: &[u8]) {
        let mut body = Vec::with_capacity(data.len() + 32);
        sse::write_event(&mut body, None, event, data);
        self.raw(|out| http::write_chunk(out, &body));
    }
}

impl Outlet for Exchange {
    fn send(&self, kind: MsgKind, write: &mut dyn FnMut(&mut Vec<u8>)) {
        let final_answer = matches!(kind, MsgKind::Response | MsgKind::Error(_));
        match self.state.get() {
            State::Done | State::Closed => {}
            State::Fresh if final_answer => {
                let mut body = Vec::with_capacity(256);
                write(&mut body);
                let status = match kind {
                    MsgKind::Error(code) => self.statuses.get().status(code),
                    _ => 200,
                };
                self.respond(status, Some("application/json"), &body);
            }
            State::Fresh | State::Streaming => {
                if self.state.get() == State::Fresh {
                    self.open_stream();
                }
                let mut data = Vec::with_capacity(256);
                write(&mut data);
                self.write_event(Some("message"), &data);
                if final_answer && !self.stream.get() {
                    self.raw(http::write_last_chunk);
                    self.set_done(State::Done);
                }
            }
        }
    }

    fn is_closed(&self) -> bool {
        self.is_done()
    }

    /// A cancelled request gets no JSON-RPC answer; its HTTP response still ends, as an event
    /// stream with whatever it carried (progress, say) and no response in it. A standing stream
    /// serves no single request and stays.
    fn unanswered(&self) {
        if self.stream.get() {
            return;
        }
        match self.state.get() {
            State::Fresh => {
                self.open_stream();
                self.raw(http::write_last_chunk);
                self.set_done(State::Done);
            }
            State::Streaming => {
                self.raw(http::write_last_chunk);
                self.set_done(State::Done);
            }
            State::Done | State::Closed => {}
        }
    }
}

impl Pending for Exchange {
    fn is_done(&self) -> bool {
        Exchange::is_done(self)
    }

    fn is_stream(&self) -> bool {
        self.state.get() == State::Streaming
    }

    fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    fn close(&self) {
        Exchange::close(self)
    }
}
