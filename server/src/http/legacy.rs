//! Session-based Streamable HTTP (2025-03-26 to 2025-11-25) on the MCP endpoint: POST (an
//! `initialize` without a session opens one; everything else names its `Mcp-Session-Id`), GET
//! (the session's stream of unsolicited messages, resumable by `Last-Event-ID`) and DELETE. The
//! session table itself is `sessions`; 2026-07-28 requests never reach this file.

use super::exchange::{Exchange, ResponseSink};
use super::router::HttpService;
use super::sessions::Transport;
use crate::auth::Principal;
use crate::service::Outlet;
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
        let hs = match (session_id, is_initialize) {
            (None, true) => {
                let (id, hs, ()) =
                    match self.open_session(principal, || (Transport::Streamable, ())) {
                        Ok(opened) => opened,
                        Err((status, e)) => return Self::error(ex, status, None, e),
                    };
                ex.add_header("Mcp-Session-Id", id.clone());
                let outlet: Rc<dyn Outlet> = ex.clone();
                self.engine.on_parsed(&hs.session, &outlet, parsed);
                if hs.session.legacy.borrow().version().is_some() {
                    self.insert_session(id, hs);
                }
                return ex;
            }
            (None, false) => {
                return Self::error(
                    ex,
                    400,
                    None,
                    ErrorObject::invalid_request("Bad Request: Mcp-Session-Id header is required"),
                );
            }
            (Some(id), _) => match self.session(id, principal) {
                Ok(hs) => hs,
                Err(miss) => return Self::miss(ex, miss),
            },
        };
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
        ex
    }

    /// GET: the session's stream of unsolicited messages.
    pub(super) fn get(
        self: &Rc<Self>,
        req: HttpRequest,
        outbox: &Rc<dyn ResponseSink>,
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
        let hs = match self.session_of(&req, principal) {
            Ok(hs) => hs,
            Err(miss) => return Self::miss(ex, miss),
        };
        let Some(replay) = hs.replay.clone() else {
            return Self::error(
                ex,
                405,
                None,
                ErrorObject::invalid_request("this session streams on /sse"),
            );
        };
        let stream = Exchange::stream(outbox.clone(), req.keep_alive, Vec::new());
        replay.attach(stream.clone(), req.header("last-event-id"));
        let weak_replay = Rc::downgrade(&replay);
        let weak_hs = Rc::downgrade(&hs);
        let weak_stream = Rc::downgrade(&stream);
        stream.on_close(move || {
            if let (Some(replay), Some(stream)) = (weak_replay.upgrade(), weak_stream.upgrade()) {
                replay.detach(&stream);
            }
            if let Some(hs) = weak_hs.upgrade() {
                hs.last_seen.set(Instant::now());
            }
        });
        self.keep_alive_comments(&stream);
        stream
    }

    /// DELETE: end the session.
    pub(super) fn delete(
        &self,
        req: &HttpRequest,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        let id = match self.session_of(req, principal) {
            Ok(_) => req.header(SESSION_HEADER).unwrap_or_default(),
            Err(miss) => return Self::miss(ex, miss),
        };
        if self.remove_session(id) {
            ex.respond(204, None, b"");
            ex
        } else {
            Self::error(
                ex,
                404,
                None,
                ErrorObject::invalid_request("Session not found"),
            )
        }
    }
}
