//! 2026-07-28 stateless POST: no session outlives the request. The headers that repeat the body
//! are checked by `ringmcp_proto::streamable_http::check_request` (this file only answers its
//! verdict); then the request runs in a session that lives as long as its exchange (a spare one,
//! renewed, rather than one built per request), and closing the response cancels it. Nothing here
//! reads or writes the shard's session table.

use super::exchange::{Exchange, StatusMap};
use super::router::HttpService;
use crate::auth::Principal;
use crate::service::{Outlet, Session};
use ringmcp_proto::framing::http::HttpRequest;
use ringmcp_proto::jsonrpc::{ErrorObject, Message, Parsed};
use ringmcp_proto::streamable_http::check_request;
use std::rc::{Rc, Weak};

impl HttpService {
    /// A POST sent with `MCP-Protocol-Version: 2026-07-28`.
    pub(super) fn post_stateless(
        self: &Rc<Self>,
        req: HttpRequest,
        parsed: Parsed,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        ex.set_statuses(StatusMap::Modern);
        let request = match &parsed {
            Parsed::Single(Ok(Message::Request(r))) => r,
            Parsed::Single(Ok(Message::Notification(_))) => {
                ex.respond(202, None, b"");
                return ex;
            }
            Parsed::Single(Ok(Message::Response(_))) => {
                return Self::error(
                    ex,
                    400,
                    None,
                    ErrorObject::invalid_request("2026-07-28 clients do not send responses"),
                );
            }
            Parsed::Single(Err(r)) => {
                return Self::error(ex, 400, r.id.as_ref(), r.error.clone());
            }
            Parsed::Batch(_) => {
                return Self::error(
                    ex,
                    400,
                    None,
                    ErrorObject::invalid_request("JSON-RPC batches are not part of 2026-07-28"),
                );
            }
        };
        // The tool arguments a client must mirror in `Mcp-Param-*` headers (SEP-2243).
        let registry = self.engine.registry();
        let header_params = |tool: &str| {
            registry
                .tool(tool)
                .map_or(&[][..], |t| t.header_params.as_slice())
        };
        if let Err(e) = check_request(&req, request, header_params) {
            return Self::error(ex, 400, Some(&request.id), e.into());
        }
        let listen = request.method == "subscriptions/listen";
        // Stateless: a session lives as long as this exchange. Closing the response cancels. It
        // knows its principal, to whom the request states it answers with are bound.
        let session = if listen {
            // A listen stream holds its session for long, and the shard watches it.
            Rc::new(Session::request(principal.cloned()))
        } else {
            self.request_session(principal)
        };
        let weak: Weak<Session> = Rc::downgrade(&session);
        ex.on_close(move || {
            if let Some(s) = weak.upgrade() {
                s.close();
            }
        });
        let outlet: Rc<dyn Outlet> = ex.clone();
        self.engine.on_parsed(&session, &outlet, parsed);
        ex.keep(session);
        if listen {
            // A listen stream stays open: keep proxies from timing it out.
            self.keep_alive_comments(&ex);
        }
        ex
    }

    /// A session for one 2026-07-28 request: a spare one that nothing refers to any more
    /// (its exchange, handlers and tasks are done with it), renewed, or a new one kept as a
    /// spare. A renewed session keeps its tables' capacity, so a steady stream of stateless
    /// requests allocates no session and no in-flight table.
    fn request_session(&self, principal: Option<&Principal>) -> Rc<Session> {
        let mut spares = self.spare_sessions.borrow_mut();
        for spare in spares.iter_mut() {
            if let Some(session) = Rc::get_mut(spare) {
                session.renew(principal.cloned());
                return spare.clone();
            }
        }
        let session = Rc::new(Session::request(principal.cloned()));
        // A spare that only this list holds but something still watches (a legacy watcher, say)
        // cannot be renewed: it is let go, so that whatever watches it sees it end.
        if let Some(stuck) = spares.iter_mut().find(|s| Rc::strong_count(s) == 1) {
            *stuck = session.clone();
        } else if spares.len() < SPARE_SESSIONS {
            spares.push(session.clone());
        }
        session
    }
}

/// Spare sessions per shard: enough for the requests a shard runs at once in steady state; past
/// it, a request builds its own (as many run at once only when handlers wait).
const SPARE_SESSIONS: usize = 64;
