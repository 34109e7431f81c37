//! [`HttpPool`]: the keep-alive HTTP/1.1 connections of one Streamable HTTP client session, and
//! the messages waiting for one of them. HTTP/1.1 carries one exchange per connection at a time
//! (no pipelining: a streamed answer would hold up every request behind it), so each message
//! POSTed takes an idle connection, or waits while a new one is dialed, up to a limit; a
//! connection whose answer has ended takes the next waiting message. The pool also keeps what
//! every request carries besides the message: the endpoint's path and `Host`, the session id the
//! server gave, the caller's extra headers.
//!
//! It must not decode responses (the net ring's side, [`McpHttpConn`](super::http_conn), does)
//! nor know JSON-RPC beyond the id a request carries. It dials through the shard's dialer and
//! writes into connections' outboxes; everything is shard-local.

use super::conn::{DialMcp, McpDial};
use super::link::Link;
use crate::netring::{ClientTls, Outbox};
use ringmcp_proto::client::Outgoing;
use ringmcp_proto::framing::http::write_request_head;
use ringmcp_proto::streamable_http::{SESSION_HEADER, VERSION_HEADER};
use ringmcp_proto::RequestId;
use slab::Slab;
use std::cell::Cell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};

/// Where a Streamable HTTP session's requests go: the resolved address, what `Host` says, the
/// endpoint's path (and query), and TLS when the URL was `https`.
#[derive(Debug, Clone)]
pub struct HttpEndpoint {
    pub(super) addr: SocketAddr,
    pub(super) authority: String,
    pub(super) path: String,
    pub(super) tls: Option<ClientTls>,
}

impl HttpEndpoint {
    /// Plain HTTP to `addr`, naming `authority` (`host[:port]`) in `Host`, POSTing to `path`.
    pub fn http(addr: SocketAddr, authority: impl Into<String>, path: impl Into<String>) -> Self {
        HttpEndpoint {
            addr,
            authority: authority.into(),
            path: path.into(),
            tls: None,
        }
    }

    /// HTTPS: as [`HttpEndpoint::http`], over TLS with `config`, checking that the server's
    /// certificate names `server_name`.
    pub fn https(
        addr: SocketAddr,
        authority: impl Into<String>,
        path: impl Into<String>,
        server_name: rustls::pki_types::ServerName<'static>,
        config: std::sync::Arc<rustls::ClientConfig>,
    ) -> Self {
        HttpEndpoint {
            tls: Some(ClientTls {
                config,
                name: server_name,
            }),
            ..Self::http(addr, authority, path)
        }
    }

    /// The address requests go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// One HTTP request the session makes.
#[derive(Debug, Clone)]
pub(super) enum Exchange {
    /// A JSON-RPC message POSTed to the endpoint.
    Post(Outgoing),
    /// `GET` with `Last-Event-ID`: the rest of a stream that ended before `waiter`'s answer.
    Resume {
        waiter: RequestId,
        last_event_id: String,
        /// `MCP-Protocol-Version`, as every request after the handshake carries.
        version: Option<&'static str>,
    },
    /// `DELETE` of the session (the client is done with it); answered to `waiter`.
    Delete {
        waiter: RequestId,
        /// `MCP-Protocol-Version`, as every request after the handshake carries.
        version: Option<&'static str>,
    },
}

impl Exchange {
    /// The id whose waiter this exchange's answer settles, if any.
    fn waiter(&self) -> Option<&RequestId> {
        match self {
            Exchange::Post(out) => out.id.as_ref(),
            Exchange::Resume { waiter, .. } | Exchange::Delete { waiter, .. } => Some(waiter),
        }
    }
}

/// The waiter an exchange in flight settles, and whether the exchange resumes a stream.
#[derive(Debug, Clone)]
pub(super) struct Carried {
    pub(super) waiter: RequestId,
    pub(super) resuming: bool,
}

/// One connection of the pool.
struct Line {
    /// `None` while it is being dialed.
    outbox: Option<Rc<Outbox>>,
    /// The exchange it carries now: its request is sent and its answer not ended.
    carrying: Option<Option<Carried>>,
    /// Requests written, counted for the connection's response decoder.
    sent: Rc<Cell<u32>>,
}

/// The connections of one session and the exchanges waiting for one.
pub(super) struct HttpPool {
    endpoint: Rc<HttpEndpoint>,
    dialer: Rc<dyn DialMcp>,
    lines: Slab<Line>,
    backlog: VecDeque<Exchange>,
    max_connections: usize,
    session_id: Option<String>,
    headers: Vec<(String, String)>,
}

impl HttpPool {
    /// A pool with no connection yet; `headers` go on every request (authorization, say).
    pub(super) fn new(
        endpoint: HttpEndpoint,
        dialer: Rc<dyn DialMcp>,
        max_connections: usize,
        headers: Vec<(String, String)>,
    ) -> Self {
        HttpPool {
            endpoint: Rc::new(endpoint),
            dialer,
            lines: Slab::new(),
            backlog: VecDeque::new(),
            max_connections: max_connections.max(1),
            session_id: None,
            headers,
        }
    }

    /// The session id the server gave (`Mcp-Session-Id`), if any.
    pub(super) fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The server named the session: later requests carry its id. The first one given stays
    /// (the specification has the server assign it once, on `initialize`'s answer).
    pub(super) fn set_session_id(&mut self, id: &str) {
        if self.session_id.is_none() {
            self.session_id = Some(id.to_owned());
        }
    }

    /// Send `exchange` on an idle connection, or keep it until one is free (dialing one more if
    /// the pool is below its limit). `link` is the session's, which the new connection feeds.
    pub(super) fn submit(&mut self, exchange: Exchange, link: &Weak<Link>) {
        let idle = self.lines.iter().find_map(|(key, line)| {
            let usable =
                line.carrying.is_none() && line.outbox.as_ref().is_some_and(|o| !o.is_closed());
            usable.then_some(key)
        });
        match idle {
            Some(key) => self.start(key, exchange),
            None => {
                self.backlog.push_back(exchange);
                self.grow(link);
            }
        }
    }

    /// Dial one more connection if exchanges wait and every connection is busy or dialing.
    fn grow(&mut self, link: &Weak<Link>) {
        let dialing = self
            .lines
            .iter()
            .filter(|(_, l)| l.outbox.is_none())
            .count();
        if self.backlog.len() <= dialing || self.lines.len() >= self.max_connections {
            return;
        }
        let Some(link) = link.upgrade() else { return };
        let sent = Rc::new(Cell::new(0));
        let slot = self.lines.insert(Line {
            outbox: None,
            carrying: None,
            sent: sent.clone(),
        });
        let dialer = self.dialer.clone();
        let endpoint = self.endpoint.clone();
        tracing::debug!(addr = %endpoint.addr, slot, "dialing an HTTP connection");
        glommio::spawn_local(async move {
            let dial = McpDial::http(link.clone(), slot, sent);
            let dialing = dialer.dial_mcp(endpoint.addr, endpoint.tls.clone(), dial);
            if let Err(e) = dialing.await {
                link.http_dial_failed(slot, e);
            }
        })
        .detach();
    }

    /// Connection `slot` is made: it takes the first waiting exchange.
    pub(super) fn attached(&mut self, slot: usize, outbox: Rc<Outbox>) {
        if let Some(line) = self.lines.get_mut(slot) {
            line.outbox = Some(outbox);
            self.next(slot);
        }
    }

    /// Connection `slot` finished its answer: if it can carry another it takes the next waiting
    /// exchange, else it leaves the pool (its connection closes itself). Returns the waiter the
    /// finished exchange was for.
    pub(super) fn finished(
        &mut self,
        slot: usize,
        reusable: bool,
        link: &Weak<Link>,
    ) -> Option<Carried> {
        let line = self.lines.get_mut(slot)?;
        let carried = line.carrying.take().flatten();
        if reusable {
            self.next(slot);
        } else {
            self.lines.remove(slot);
            self.grow(link);
        }
        carried
    }

    /// Connection `slot` closed: it leaves the pool, and waiting exchanges get a new one.
    /// Returns the waiter of the exchange it carried, whose answer will not come.
    pub(super) fn closed(&mut self, slot: usize, link: &Weak<Link>) -> Option<Carried> {
        let line = self.lines.try_remove(slot)?;
        self.grow(link);
        line.carrying.flatten()
    }

    /// A dial failed: the pool forgets it. Returns the exchanges that were waiting if no
    /// connection is left to carry them (the caller fails the session: the server is gone).
    pub(super) fn dial_failed(&mut self, slot: usize) -> Option<Vec<Exchange>> {
        self.lines.try_remove(slot);
        if self.lines.is_empty() {
            Some(self.backlog.drain(..).collect())
        } else {
            None
        }
    }

    /// Every connection's outbox, so that the session can close them.
    pub(super) fn outboxes(&self) -> impl Iterator<Item = &Rc<Outbox>> {
        self.lines.iter().filter_map(|(_, l)| l.outbox.as_ref())
    }

    /// Give the connection `slot` the next waiting exchange, if any.
    fn next(&mut self, slot: usize) {
        if let Some(exchange) = self.backlog.pop_front() {
            self.start(slot, exchange);
        }
    }

    /// Write `exchange`'s request into connection `slot`.
    fn start(&mut self, slot: usize, exchange: Exchange) {
        let Some(line) = self.lines.get_mut(slot) else {
            self.backlog.push_front(exchange);
            return;
        };
        let Some(outbox) = &line.outbox else {
            self.backlog.push_front(exchange);
            return;
        };
        line.carrying = Some(exchange.waiter().map(|waiter| Carried {
            waiter: waiter.clone(),
            resuming: matches!(exchange, Exchange::Resume { .. }),
        }));
        line.sent.set(line.sent.get() + 1);
        let endpoint = &self.endpoint;
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(8 + self.headers.len());
        if let Some(id) = &self.session_id {
            headers.push((SESSION_HEADER, id));
        }
        headers.extend(self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let (method, body) = match &exchange {
            Exchange::Post(out) => {
                headers.push(("Content-Type", "application/json"));
                headers.push(("Accept", "application/json, text/event-stream"));
                headers.extend(out.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                ("POST", Some(out.body.as_slice()))
            }
            Exchange::Resume {
                last_event_id,
                version,
                ..
            } => {
                headers.push(("Accept", "text/event-stream"));
                headers.push(("Last-Event-ID", last_event_id));
                headers.extend(version.map(|v| (VERSION_HEADER, v)));
                ("GET", None)
            }
            Exchange::Delete { version, .. } => {
                headers.extend(version.map(|v| (VERSION_HEADER, v)));
                ("DELETE", None)
            }
        };
        outbox.send_raw(|buf| {
            let (path, host) = (&endpoint.path, &endpoint.authority);
            write_request_head(buf, method, path, host, &headers, body.map(<[u8]>::len));
            buf.extend_from_slice(body.unwrap_or_default());
        });
    }
}
