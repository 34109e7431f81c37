//! Session-based Streamable HTTP (2025-03-26 to 2025-11-25) on the MCP endpoint: POST (an
//! `initialize` without a session opens one; everything else names its `Mcp-Session-Id`), GET
//! (the session's stream of unsolicited messages, resumable by `Last-Event-ID`) and DELETE. The
//! session table itself is `sessions`; 2026-07-28 requests never reach this file.

use super::exchange::Exchange;
use super::held::Held;
use super::router::HttpService;
use super::sessions::{HttpSession, Miss, Transport};
use crate::auth::Principal;
use crate::service::Outlet;
use crate::store::StoreError;
use ringmcp_proto::framing::http::HttpRequest;
use ringmcp_proto::jsonrpc::{ErrorObject, Message, Parsed};
use ringmcp_proto::streamable_http::{is_stateless, request_ids, SESSION_HEADER, VERSION_HEADER};
use std::rc::Rc;
use std::time::Instant;

impl HttpService {
    /// A POST in (or opening) a session.
    pub(super) fn post_legacy(
        self: &Rc<Self>,
        req: HttpRequest,
        parsed: Parsed,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        let is_initialize =
            matches!(&parsed, Parsed::Single(Ok(Message::Request(r))) if r.method == "initialize");
        let has_requests = match &parsed {
            Parsed::Single(Ok(Message::Request(_))) => true,
            Parsed::Batch(items) => items
                .iter()
                .any(|m| matches!(m, Ok(Message::Request(_)) | Err(_))),
            Parsed::Single(Err(_)) => true,
            _ => false,
        };
        if let Parsed::Single(Err(r)) = &parsed {
            return Self::error(ex, 400, r.id.as_ref(), r.error.clone());
        }
        let session_id = req.header(SESSION_HEADER);
        match (session_id, is_initialize) {
            (None, true) => self.initialize(parsed, ex, principal),
            (None, false) => Self::error(
                ex,
                400,
                None,
                ErrorObject::invalid_request("Bad Request: Mcp-Session-Id header is required"),
            ),
            (Some(id), _) => {
                let found = self.session(id, principal);
                let this = self.clone();
                Self::with_session(found, ex, move |hs, ex| {
                    this.post_in_session(&hs, parsed, &ex, has_requests)
                })
            }
        }
    }

    /// An `initialize` without a session: open one. The answer is held until the session is in
    /// the store (at once on one node; after Redis has it in a cluster), so that the client's
    /// next request finds it on any node; a store that cannot keep it gets 503.
    fn initialize(
        self: &Rc<Self>,
        parsed: Parsed,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        let (id, hs, ()) = match self.open_session(principal, || (Transport::Streamable, ())) {
            Ok(opened) => opened,
            Err((status, e)) => return Self::error(ex, status, None, e),
        };
        ex.add_header("Mcp-Session-Id", id.to_string());
        let held = Held::new(ex.clone());
        let outlet: Rc<dyn Outlet> = held.clone();
        self.engine.on_parsed(&hs.session, &outlet, parsed);
        // Nothing to wait for when initialize failed (no session was negotiated).
        let Some(created) = hs.session.take_created() else {
            held.release();
            return ex;
        };
        match created.now() {
            Ok(Ok(())) => {
                self.insert_session(id, hs);
                held.release();
            }
            Ok(Err(e)) => {
                Self::miss(ex.clone(), Miss::Store(e));
            }
            Err(later) => {
                let this = self.clone();
                let reply = ex.clone();
                glommio::spawn_local(async move {
                    match later.await {
                        Ok(()) => {
                            this.insert_session(id, hs);
                            held.release();
                        }
                        Err(e) => {
                            Self::miss(reply, Miss::Store(e));
                        }
                    }
                })
                .detach();
            }
        }
        ex
    }

    /// Messages for an open session.
    fn post_in_session(
        &self,
        hs: &HttpSession,
        parsed: Parsed,
        ex: &Rc<Exchange>,
        has_requests: bool,
    ) {
        let outlet: Rc<dyn Outlet> = ex.clone();
        let ids = request_ids(&parsed);
        let weak = Rc::downgrade(&hs.session);
        ex.on_close(move || {
            if let Some(s) = weak.upgrade() {
                for id in &ids {
                    s.cancel(id);
                }
            }
        });
        self.engine.on_parsed(&hs.session, &outlet, parsed);
        if !has_requests {
            ex.respond(202, None, b"");
        }
    }

    /// GET: the session's stream of unsolicited messages.
    pub(super) fn get(
        self: &Rc<Self>,
        req: HttpRequest,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        if req.header(VERSION_HEADER).is_some_and(is_stateless) {
            ex.add_header("Allow", "POST".into());
            ex.respond(
                405,
                Some("text/plain"),
                b"2026-07-28 has no GET stream; use subscriptions/listen\n",
            );
            return ex;
        }
        if !req
            .header("accept")
            .is_some_and(|a| a.contains("text/event-stream"))
        {
            return Self::error(
                ex,
                406,
                None,
                ErrorObject::invalid_request("Accept must include text/event-stream"),
            );
        }
        let found = self.session_of(&req, principal);
        let last_event_id = req.header("last-event-id").map(str::to_owned);
        let this = self.clone();
        Self::with_session(found, ex, move |hs, ex| {
            this.open_stream(&hs, &ex, last_event_id.as_deref())
        })
    }

    /// The session's GET stream, on `stream`, from `last_event_id` on.
    fn open_stream(
        &self,
        hs: &Rc<HttpSession>,
        stream: &Rc<Exchange>,
        last_event_id: Option<&str>,
    ) {
        let Some(replay) = hs.replay.clone() else {
            Self::error(
                stream.clone(),
                405,
                None,
                ErrorObject::invalid_request("this session streams on /sse"),
            );
            return;
        };
        stream.begin_stream();
        let session = Rc::downgrade(&hs.session);
        let wants = Box::new(move |notice: &crate::store::Notice| {
            session.upgrade().is_some_and(|s| s.wants(notice))
        });
        replay.attach(stream.clone(), last_event_id, wants);
        let weak_replay = Rc::downgrade(&replay);
        let weak_hs = Rc::downgrade(hs);
        let weak_stream = Rc::downgrade(stream);
        stream.on_close(move || {
            if let (Some(replay), Some(stream)) = (weak_replay.upgrade(), weak_stream.upgrade()) {
                replay.detach(&stream);
            }
            if let Some(hs) = weak_hs.upgrade() {
                hs.last_seen.set(Instant::now());
            }
        });
        self.keep_alive_comments(stream);
    }

    /// DELETE: end the session. Answered once the store has forgotten it, so that no node serves
    /// it afterwards.
    pub(super) fn delete(
        self: &Rc<Self>,
        req: &HttpRequest,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        let found = self.session_of(req, principal);
        let id = req.header(SESSION_HEADER).unwrap_or_default().to_owned();
        let this = self.clone();
        Self::with_session(found, ex, move |_, ex| match this.store.remove(&id).now() {
            Ok(removed) => this.ended(&id, ex, removed),
            Err(later) => {
                glommio::spawn_local(async move {
                    let removed = later.await;
                    this.ended(&id, ex, removed);
                })
                .detach();
            }
        })
    }

    fn ended(&self, id: &str, ex: Rc<Exchange>, removed: Result<bool, StoreError>) {
        match removed {
            Ok(_) => {
                self.drop_session(id);
                ex.respond(204, None, b"");
            }
            Err(e) => {
                Self::miss(ex, Miss::Store(e));
            }
        }
    }
}
