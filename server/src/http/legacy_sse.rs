//! The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a session whose answers and notifications
//! all travel on that stream (its first event names the POST endpoint), and `POST
//! /messages?sessionId=...` hands a message to the session, answered on the stream. Sessions are
//! opened and kept by `sessions`; nothing here applies to Streamable HTTP.

use super::exchange::{Exchange, ResponseSink, StatusMap};
use super::router::HttpService;
use super::sessions::{Miss, Transport};
use crate::auth::Principal;
use crate::service::{ids, Outlet};
use crate::store::{SessionRecord, StoreError};
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
        self: &Rc<Self>,
        req: &HttpRequest,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        let Some(id) = req.query_param("sessionId") else {
            return Self::miss(ex, Miss::NotFound);
        };
        let hs = match self.held_session(id, principal) {
            Ok(hs) => hs,
            Err(miss) => match self.stream_elsewhere(id) {
                Some(origin) => return self.post_elsewhere(origin, id, principal, req, ex),
                None => return Self::miss(ex, miss),
            },
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

    /// A message for a 2024-11-05 stream another node of the cluster holds, from that session's
    /// id, which names the node and shard: that shard's bus channel (`<node>:<shard>`).
    fn stream_elsewhere(&self, id: &str) -> Option<String> {
        self.relay.as_ref()?;
        match ids::origin(id) {
            Some((Some(node), shard)) if Some(node) != self.node.as_deref() => {
                Some(format!("{node}:{shard}"))
            }
            _ => None,
        }
    }

    /// Send a 2024-11-05 message on to the node holding its stream: 202 as if it were here. A
    /// session is stored only once initialized, so a stored session of another principal is 404
    /// and one not stored yet (its `initialize` is on its way) is sent on; the holder checks the
    /// principal again and drops what is not for a stream of its own. 503 if the store cannot
    /// tell.
    fn post_elsewhere(
        self: &Rc<Self>,
        origin: String,
        id: &str,
        principal: Option<&Principal>,
        req: &HttpRequest,
        ex: Rc<Exchange>,
    ) -> Rc<Exchange> {
        let this = self.clone();
        let (id, principal, body) = (id.to_owned(), principal.cloned(), req.body.clone());
        let relay =
            move |found: Result<Option<SessionRecord>, StoreError>, ex: Rc<Exchange>| match found {
                Ok(Some(r)) if r.principal.as_deref() != principal.as_deref() => {
                    Self::miss(ex, Miss::NotFound);
                }
                Ok(_) => {
                    if let Some(relay) = &this.relay {
                        relay.post(&origin, &id, principal.as_deref(), &body);
                    }
                    ex.respond(202, Some("text/plain"), b"Accepted");
                }
                Err(e) => {
                    Self::miss(ex, Miss::Store(e));
                }
            };
        match self
            .store
            .load(req.query_param("sessionId").unwrap_or_default())
            .now()
        {
            Ok(found) => relay(found, ex.clone()),
            Err(later) => {
                let reply = ex.clone();
                glommio::spawn_local(async move { relay(later.await, reply) }).detach();
            }
        }
        ex
    }

    /// A 2024-11-05 message posted through another node for a stream this shard holds.
    pub(crate) fn relayed_post(&self, id: &str, principal: Option<&str>, body: &[u8]) {
        let principal: Option<Principal> = principal.map(Principal::from);
        let Ok(hs) = self.held_session(id, principal.as_ref()) else {
            tracing::debug!("relayed 2024-11-05 message for no stream of this shard");
            return;
        };
        let stream = hs.stream.borrow().clone();
        let Some(stream) = stream.filter(|s| !s.is_done() && hs.sse_transport) else {
            return;
        };
        let outlet: Rc<dyn Outlet> = stream;
        self.engine
            .on_parsed(&hs.session, &outlet, jsonrpc::parse(body));
        hs.session.settle_created();
    }
}
