//! [`HttpService`]: one shard's HTTP side. It owns the shard's HTTP state (sessions, forwarding,
//! security) and routes each request: rate limit, forwarding to the shard that owns its session,
//! the probes (health, readiness: before the security checks, which load balancers' probes do not
//! pass), security checks, then by method and path to the endpoint that answers it (`stateless`
//! for 2026-07-28, `legacy` for session-based Streamable HTTP, `legacy_sse` for 2024-11-05, plus
//! metrics and the OAuth metadata). The header rules themselves live in
//! `ringmcp_proto::streamable_http`; this file must not grow protocol rules of its own.

use super::config::HttpConfig;
use super::exchange::{Exchange, Pending, ResponseSink, StatusMap};
use super::forward::{Forwarding, HttpPort};
use super::replay::ReplayShared;
use super::security::Security;
use super::sessions::HttpSession;
use crate::auth::Principal;
use crate::engine::McpService;
use crate::netring::Outbox;
use crate::service::Relay;
use crate::store::{EventStore, MemoryEventStore, NoticeLog, SessionStore};
use ringmcp_proto::framing::http::{HttpLimits, HttpRequest, Method};
use ringmcp_proto::jsonrpc::{self, ErrorObject, RequestId};
use ringmcp_proto::streamable_http::{self, single_request, with_trace_headers, PostRoute};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// HTTP routing and session table of one shard.
pub(crate) struct HttpService {
    pub(super) engine: Rc<McpService>,
    pub(super) config: HttpConfig,
    /// Keyed by the session id, the same `Rc<str>` the session's parts hold.
    pub(super) sessions: RefCell<HashMap<Rc<str>, Rc<HttpSession>>>,
    /// Where the sessions' unsolicited events are numbered and kept, for `Last-Event-ID`: the
    /// shard's event store, and the cluster's log of notices, from which GET streams resume.
    pub(super) replay: Rc<ReplayShared>,
    /// The durable part of the sessions.
    pub(super) store: Rc<dyn SessionStore>,
    /// This node's id in a cluster (it starts the session ids minted here).
    pub(super) node: Option<Rc<str>>,
    /// Carries clients' answers to the node that awaits them (cluster mode).
    pub(super) relay: Option<Rc<dyn Relay>>,
    pub(super) shard: usize,
    pub(super) forwarding: Forwarding,
    pub(super) security: Security,
    /// Set on every shard by the main thread when a stop signal starts the drain: `/ready`
    /// answers 503 so that load balancers move traffic away, and everything else is served.
    draining: Arc<AtomicBool>,
    /// Sessions of finished 2026-07-28 requests, renewed for the next ones
    /// (`http::stateless`): a stateless request builds no session of its own.
    pub(super) spare_sessions: RefCell<Vec<Rc<crate::service::Session>>>,
}

/// Where a shard's legacy sessions are kept, and how they reach the other nodes of a cluster.
pub(crate) struct SessionHome {
    /// The durable part of the sessions.
    pub(crate) store: Rc<dyn SessionStore>,
    /// This node's id in a cluster.
    pub(crate) node: Option<Rc<str>>,
    /// Carries clients' answers to requests other nodes sent.
    pub(crate) relay: Option<Rc<dyn Relay>>,
    /// The cluster's log of notices: GET streams resume from it on any node.
    pub(crate) log: Option<Rc<dyn NoticeLog>>,
}

fn json_body(id: Option<&RequestId>, e: &ErrorObject) -> Vec<u8> {
    let mut out = Vec::new();
    jsonrpc::write_error(&mut out, id, e);
    out
}

impl HttpService {
    /// The HTTP side of a shard.
    pub(crate) fn new(
        engine: Rc<McpService>,
        config: HttpConfig,
        mesh: Option<HttpPort>,
        home: SessionHome,
        draining: Arc<AtomicBool>,
    ) -> Rc<Self> {
        let shard = engine.shard().id;
        let events: Rc<dyn EventStore> = Rc::new(MemoryEventStore::new(config.replay_events));
        let max_replay = config.replay_events;
        let this = Rc::new(HttpService {
            engine,
            config,
            sessions: RefCell::new(HashMap::new()),
            replay: Rc::new(ReplayShared {
                events,
                log: home.log,
                max_replay,
            }),
            store: home.store,
            node: home.node,
            relay: home.relay,
            shard,
            forwarding: Forwarding::new(mesh),
            security: Security::new(),
            draining,
            spare_sessions: RefCell::new(Vec::new()),
        });
        this.spawn_expiry();
        let weak = Rc::downgrade(&this);
        this.store.on_stale(Box::new(move |id| {
            if let Some(this) = weak.upgrade() {
                this.refresh_streaming(id);
            }
        }));
        this
    }

    /// Request size limits for connections.
    pub(crate) fn limits(&self) -> HttpLimits {
        self.config.limits
    }

    /// Answer one request from a connection of this shard. A request for a legacy session owned by
    /// another shard is forwarded there over the mesh and answered from it.
    pub(crate) fn handle(
        self: &Rc<Self>,
        req: HttpRequest,
        outbox: &Rc<Outbox>,
        peer: Option<IpAddr>,
    ) -> Rc<dyn Pending> {
        let client = peer.map(|ip| self.client(ip, &req));
        // Probes are not metered: a balancer's health checks all come from its own address, and
        // a limit on them would take a healthy node out of rotation.
        let metered = client.filter(|_| !self.is_probe(&req));
        if let Some(wait) = metered.and_then(|ip| self.rate_limited(ip)) {
            tracing::debug!(client = ?client, "request refused: rate limited");
            let ex = Exchange::reply(outbox.clone(), req.keep_alive, StatusMap::Legacy);
            ex.add_header("Retry-After", wait.as_secs().max(1).to_string());
            return Self::error(ex, 429, None, ErrorObject::rate_limited(wait));
        }
        if let Some(owner) = self.owner_of(&req).filter(|&o| o != self.shard) {
            if let Some(mesh) = self.mesh() {
                if owner < mesh.shards() {
                    return self.forward(&mesh, owner, req, outbox, client);
                }
            }
        }
        let sink: Rc<dyn ResponseSink> = outbox.clone();
        self.handle_local(req, &sink, client)
    }

    /// Answer one request from `client` on this shard; the returned exchange may already be done.
    pub(super) fn handle_local(
        self: &Rc<Self>,
        req: HttpRequest,
        outbox: &Rc<dyn ResponseSink>,
        client: Option<IpAddr>,
    ) -> Rc<Exchange> {
        let ex = Exchange::reply(outbox.clone(), req.keep_alive, StatusMap::Legacy);
        // Probes come before the Origin/Host admission: load balancers and orchestrators send
        // them without a Host header (HAProxy's plain `option httpchk` sends `OPTIONS /
        // HTTP/1.0`) or with an address of their own, and the answer tells a DNS-rebinding page
        // nothing.
        if self.answer_probe(&req, &ex) {
            return ex;
        }
        let Ok(principal) = self.admit(&req, &ex, client) else {
            return ex;
        };
        let endpoint = req.path() == self.config.endpoint;
        let principal = principal.as_ref();
        if let Some(auth) = &self.config.authenticator {
            if req.method == Method::Get
                && (req.path() == auth.metadata_path()
                    || req.path() == "/.well-known/oauth-protected-resource")
            {
                ex.add_header("Access-Control-Allow-Origin", "*".into());
                ex.respond(200, Some("application/json"), auth.metadata());
                return ex;
            }
        }
        match (req.method, req.path()) {
            (Method::Post, _) if endpoint => self.post(req, ex, principal),
            (Method::Get, _) if endpoint => self.get(req, ex, principal),
            (Method::Delete, _) if endpoint => self.delete(&req, ex, principal),
            (Method::Options, _) if endpoint || req.path() == "/messages" => {
                ex.add_header("Allow", "GET, POST, DELETE, OPTIONS".into());
                ex.add_header(
                    "Access-Control-Allow-Methods",
                    "GET, POST, DELETE, OPTIONS".into(),
                );
                ex.add_header(
                    "Access-Control-Allow-Headers",
                    "Content-Type, Accept, Authorization, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID".into(),
                );
                ex.respond(204, None, b"");
                ex
            }
            (_, _) if endpoint => {
                ex.add_header("Allow", "GET, POST, DELETE, OPTIONS".into());
                ex.respond(405, Some("text/plain"), b"method not allowed\n");
                ex
            }
            (Method::Get, "/sse") => self.sse_open(&req, outbox, principal),
            (Method::Get, "/metrics") => {
                let shard = self.engine.shard().clone();
                let reply = ex.clone();
                glommio::spawn_local(async move {
                    let body = crate::metrics::render(shard.gather_metrics().await);
                    reply.respond(
                        200,
                        Some("text/plain; version=0.0.4; charset=utf-8"),
                        body.as_bytes(),
                    );
                })
                .detach();
                ex
            }
            (Method::Post, "/messages") => self.sse_post(&req, ex, principal),
            _ => {
                ex.respond(404, Some("text/plain"), b"not found\n");
                ex
            }
        }
    }

    /// Answers `req` if it is a probe: `GET /health` (the process is alive), `GET /ready` and
    /// `OPTIONS /` (it takes traffic; 503 while it drains, so that a load balancer moves traffic
    /// away before it stops). Returns whether it was one.
    fn answer_probe(&self, req: &HttpRequest, ex: &Exchange) -> bool {
        if !self.is_probe(req) {
            return false;
        }
        if req.path() == "/health" {
            ex.respond(200, Some("text/plain"), b"ok\n");
        } else {
            self.answer_ready(ex);
        }
        true
    }

    fn is_probe(&self, req: &HttpRequest) -> bool {
        match (req.method, req.path()) {
            (Method::Get, "/health" | "/ready") => true,
            // On an endpoint mounted at `/`, OPTIONS is the CORS preflight, not a probe.
            (Method::Options, "/") => self.config.endpoint != "/",
            _ => false,
        }
    }

    fn answer_ready(&self, ex: &Exchange) {
        if self.engine.shard().stopping.get() || self.draining.load(Ordering::Relaxed) {
            ex.respond(503, Some("text/plain"), b"draining\n");
        } else if let Some(why) = self.store.unavailable() {
            // Legacy sessions cannot be served here now: the balancer should send them elsewhere.
            let body = format!("session store unavailable: {why}\n");
            ex.respond(503, Some("text/plain"), body.as_bytes());
        } else {
            ex.respond(200, Some("text/plain"), b"ready\n");
        }
    }

    pub(super) fn error(
        ex: Rc<Exchange>,
        status: u16,
        id: Option<&RequestId>,
        e: ErrorObject,
    ) -> Rc<Exchange> {
        ex.respond(status, Some("application/json"), &json_body(id, &e));
        ex
    }

    /// POST on the MCP endpoint: content negotiation, then `MCP-Protocol-Version` picks the
    /// 2026-07-28 stateless rules or the session-based ones.
    fn post(
        self: &Rc<Self>,
        req: HttpRequest,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        if !req
            .header("content-type")
            .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"))
        {
            return Self::error(
                ex,
                415,
                None,
                ErrorObject::invalid_request("Content-Type must be application/json"),
            );
        }
        if let Some(accept) = req.header("accept") {
            let a = accept.to_ascii_lowercase();
            if !(a.contains("application/json")
                || a.contains("text/event-stream")
                || a.contains("*/*"))
            {
                return Self::error(
                    ex,
                    406,
                    None,
                    ErrorObject::invalid_request(
                        "Accept must allow application/json and text/event-stream",
                    ),
                );
            }
        }
        let parsed = with_trace_headers(&req, jsonrpc::parse(&req.body));
        match streamable_http::route_post(&req, &parsed) {
            Ok(PostRoute::Stateless) => self.post_stateless(req, parsed, ex, principal),
            Ok(PostRoute::Session) => self.post_legacy(req, parsed, ex, principal),
            Err(e) => {
                let id = single_request(&parsed).map(|r| &r.id);
                Self::error(ex, 400, id, e.into())
            }
        }
    }

    /// SSE comments on an open stream every keep-alive interval, so that proxies do not time it
    /// out; they stop when the stream is done.
    pub(super) fn keep_alive_comments(&self, stream: &Rc<Exchange>) {
        let weak = Rc::downgrade(stream);
        let every = self.config.keepalive;
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(every).await;
                match weak.upgrade() {
                    Some(s) if !s.is_done() => s.comment("keep-alive"),
                    _ => break,
                }
            }
        })
        .detach();
    }
}
