//! The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a session whose answers and notifications
//! all travel on that stream (its first event names the POST endpoint), and `POST
//! /messages?sessionId=...` hands a message to the session, answered on the stream. Sessions are
//! opened and kept by `sessions`; nothing here applies to Streamable HTTP.

use super::exchange::{Exchange, ResponseSink, StatusMap};
use super::router::HttpService;
use super::sessions::Transport;
use crate::auth::Principal;
use crate::service::Outlet;
use ringmcp_proto::framing::http::HttpRequest;
use ringmcp_proto::jsonrpc::{self, ErrorObject};
use std::rc::Rc;

impl HttpService {
    /// 2024-11-05: GET /sse opens a session whose answers travel on this stream.
    pub(super) fn sse_open(
        self: &Rc<Self>,
        req: &HttpRequest,
        outbox: &Rc<dyn ResponseSink>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        let opened = self.open_session(principal, || {
            let stream = Exchange::stream(outbox.clone(), req.keep_alive, Vec::new());
            (Transport::Sse(stream.clone()), stream)
        });
        let (id, hs, stream) = match opened {
            Ok(opened) => opened,
            Err((status, e)) => {
                let ex = Exchange::reply(outbox.clone(), req.keep_alive, StatusMap::Legacy);
                return Self::error(ex, status, None, e);
            }
        };
        stream.event("endpoint", format!("/messages?sessionId={id}").as_bytes());
        self.insert_session(id.clone(), hs);
        let weak = Rc::downgrade(self);
        stream.on_close(move || {
            if let Some(this) = weak.upgrade() {
                this.drop_session(&id);
                this.forget_stored(&id);
            }
        });
        self.keep_alive_comments(&stream);
        stream
    }

    /// 2024-11-05: POST /messages?sessionId=...: accepted here, answered on the session's stream.
    pub(super) fn sse_post(
        &self,
        req: &HttpRequest,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        let hs = match req.query_param("sessionId") {
            Some(id) => match self.held_session(id, principal) {
                Ok(hs) => hs,
                Err(miss) => return Self::miss(ex, miss),
            },
            None => return Self::miss(ex, super::sessions::Miss::NotFound),
        };
        let stream = hs.stream.borrow().clone();
        let Some(stream) = stream.filter(|s| !s.is_done() && hs.sse_transport) else {
            return Self::error(
                ex,
                404,
                None,
                ErrorObject::invalid_request("Session has no open stream"),
            );
        };
        let outlet: Rc<dyn Outlet> = stream;
        self.engine
            .on_parsed(&hs.session, &outlet, jsonrpc::parse(&req.body));
        // Answers travel on the stream, which does not wait for the store.
        hs.session.settle_created();
        ex.respond(202, Some("text/plain"), b"Accepted");
        ex
    }
}
