//! [`HttpService`]: Streamable HTTP routing for one shard: security checks (Origin, Host), the
//! 2026-07-28 header rules, legacy sessions (`Mcp-Session-Id`, GET streams, DELETE) and the
//! 2024-11-05 HTTP+SSE endpoints. It turns each request into an [`Exchange`] and hands JSON-RPC
//! bodies to the shard's [`McpService`].

use super::exchange::{Exchange, Pending, ResponseSink, StatusMap};
use super::replay::ReplayStream;
use crate::auth::{AuthConfig, AuthError, Authenticator, Grant, Principal};
use crate::mesh::{Mesh, MeshMsg};
use crate::service::{McpService, Outbox, Outlet, Session};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ringmcp_proto::dispatch::{meta_protocol_version, params_by_name, unsupported_version};
use ringmcp_proto::framing::http::{HttpLimits, HttpRequest, Method};
use ringmcp_proto::jsonrpc::{self, code, ErrorObject, Message, Parsed, RequestId};
use ringmcp_proto::ratelimit::TokenBucket;
use ringmcp_proto::revision::ProtocolVersion;
use serde_json::Value;
use std::cell::OnceCell;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// HTTP settings (all from the command line).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The MCP endpoint path.
    pub endpoint: String,
    /// Origins allowed besides loopback ones (`*` allows any).
    pub allowed_origins: Vec<String>,
    /// Host names allowed besides loopback ones and the bound address.
    pub allowed_hosts: Vec<String>,
    /// The address the listener is bound to.
    pub bound: SocketAddr,
    /// Request size limits.
    pub limits: HttpLimits,
    /// Sessions idle longer than this are closed.
    pub session_idle: Duration,
    /// Sessions one shard holds at most (503 past it).
    pub max_sessions: usize,
    /// Interval of SSE keep-alive comments.
    pub keepalive: Duration,
    /// Unsolicited events kept per session for `Last-Event-ID` resumption.
    pub replay_events: usize,
    /// Requests per second one client address may send (0 = no limit).
    pub rate_limit_rps: f64,
    /// Burst above the rate.
    pub rate_limit_burst: u32,
    /// The listener speaks TLS (the resource URL is `https`).
    pub tls: bool,
    /// Bearer-token authorization settings (off unless a credential source is set).
    pub auth: AuthConfig,
    /// Built from `auth` once the listener is bound (see [`crate::serve()`]).
    pub authenticator: Option<Arc<Authenticator>>,
}

impl HttpConfig {
    /// Defaults for a listener bound to `bound`.
    pub fn new(bound: SocketAddr) -> Self {
        HttpConfig {
            endpoint: "/mcp".into(),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            bound,
            limits: HttpLimits::default(),
            session_idle: Duration::from_secs(600),
            max_sessions: 100_000,
            keepalive: Duration::from_secs(15),
            replay_events: 256,
            rate_limit_rps: 0.0,
            rate_limit_burst: 100,
            tls: false,
            auth: AuthConfig::default(),
            authenticator: None,
        }
    }
}

/// A legacy session held by this shard.
struct HttpSession {
    session: Rc<Session>,
    last_seen: Cell<Instant>,
    /// Unsolicited messages: numbered, kept for `Last-Event-ID`, sent on the GET stream if open.
    replay: Option<Rc<ReplayStream>>,
    /// The 2024-11-05 `/sse` stream (answers and notifications travel on it).
    stream: RefCell<Option<Rc<Exchange>>>,
    /// A 2024-11-05 HTTP+SSE session: answers go on the stream.
    sse_transport: bool,
    /// The principal that created the session; only it may use the session id.
    principal: Option<Principal>,
}

impl HttpSession {
    /// Whether `principal` may use this session. A session id presented by anyone else is
    /// answered as unknown (404), so ids of other principals cannot even be probed.
    fn usable_by(&self, principal: Option<&Principal>) -> bool {
        self.principal.as_deref() == principal.map(|p| &**p)
    }
}

/// HTTP routing and session table of one shard.
pub struct HttpService {
    engine: Rc<McpService>,
    config: HttpConfig,
    sessions: RefCell<HashMap<String, Rc<HttpSession>>>,
    shard: usize,
    mesh: OnceCell<Option<Rc<Mesh>>>,
    /// Requests this shard forwarded, by ticket, waiting for their answers.
    remote: RefCell<HashMap<u64, Weak<RemoteExchange>>>,
    next_ticket: Cell<u64>,
    /// Requests other shards forwarded here that are still being answered.
    forwarded: RefCell<HashMap<(usize, u64), Rc<Exchange>>>,
    /// Rate-limit buckets by client address.
    buckets: RefCell<HashMap<std::net::IpAddr, TokenBucket>>,
    epoch: Instant,
    /// Bearer tokens this shard verified, until they expire (signature checks are not repeated
    /// per request).
    grants: RefCell<HashMap<Box<str>, Grant>>,
}

/// Verified tokens a shard remembers at most (the cache is emptied when full).
const MAX_CACHED_GRANTS: usize = 16_384;

/// HTTP traffic between shards.
#[derive(Debug)]
pub enum HttpMesh {
    /// A request for a session the receiving shard owns.
    Request {
        /// The shard holding the connection.
        from: usize,
        /// Names the exchange on that shard.
        ticket: u64,
        /// The request.
        request: Box<HttpRequest>,
    },
    /// The client went away: stop answering.
    Cancel {
        /// The shard holding the connection.
        from: usize,
        /// The exchange.
        ticket: u64,
    },
    /// Response bytes for the connection.
    Bytes {
        /// The exchange.
        ticket: u64,
        /// Raw HTTP bytes.
        bytes: Vec<u8>,
    },
    /// The response is complete.
    Done {
        /// The exchange.
        ticket: u64,
        /// Whether the connection may be reused.
        keep_alive: bool,
    },
}

/// The connection-side stand-in for an exchange answered by another shard.
struct RemoteExchange {
    outbox: Rc<Outbox>,
    done: Cell<bool>,
    keep_alive: Cell<bool>,
    owner: usize,
    ticket: u64,
    mesh: Rc<Mesh>,
    me: usize,
}

impl Pending for RemoteExchange {
    fn is_done(&self) -> bool {
        self.done.get()
    }

    /// Unknown here; treated as a stream so that a peer closing its side cancels it.
    fn is_stream(&self) -> bool {
        true
    }

    fn keep_alive(&self) -> bool {
        self.keep_alive.get()
    }

    fn close(&self) {
        if !self.done.replace(true) {
            self.mesh.send(
                self.owner,
                MeshMsg::Http(HttpMesh::Cancel {
                    from: self.me,
                    ticket: self.ticket,
                }),
            );
        }
    }
}

/// The owner-side sink of a forwarded exchange: bytes go back over the mesh.
struct MeshSink {
    to: usize,
    ticket: u64,
    mesh: Rc<Mesh>,
    owner: Weak<HttpService>,
}

impl ResponseSink for MeshSink {
    fn write_raw(&self, write: &mut dyn FnMut(&mut Vec<u8>)) {
        let mut bytes = Vec::new();
        write(&mut bytes);
        self.mesh.send(
            self.to,
            MeshMsg::Http(HttpMesh::Bytes {
                ticket: self.ticket,
                bytes,
            }),
        );
    }

    fn finished(&self, keep_alive: bool) {
        self.mesh.send(
            self.to,
            MeshMsg::Http(HttpMesh::Done {
                ticket: self.ticket,
                keep_alive,
            }),
        );
        if let Some(owner) = self.owner.upgrade() {
            owner.forwarded.borrow_mut().remove(&(self.to, self.ticket));
        }
    }
}

const MODERN: &str = "2026-07-28";

fn json_body(id: Option<&RequestId>, e: &ErrorObject) -> Vec<u8> {
    let mut out = Vec::new();
    jsonrpc::write_error(&mut out, id, e);
    out
}

/// Header values that are not plain may be sent as `=?base64?...?=`.
fn decode_header(value: &str) -> Option<String> {
    match value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
    {
        Some(b64) => STANDARD
            .decode(b64)
            .ok()
            .and_then(|b| String::from_utf8(b).ok()),
        None => Some(value.to_owned()),
    }
}

fn host_part(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

impl HttpService {
    /// The HTTP side of a shard.
    pub fn new(engine: Rc<McpService>, config: HttpConfig) -> Rc<Self> {
        let shard = engine.shard().id;
        let this = Rc::new(HttpService {
            engine,
            config,
            sessions: RefCell::new(HashMap::new()),
            shard,
            mesh: OnceCell::new(),
            remote: RefCell::new(HashMap::new()),
            next_ticket: Cell::new(0),
            forwarded: RefCell::new(HashMap::new()),
            buckets: RefCell::new(HashMap::new()),
            epoch: Instant::now(),
            grants: RefCell::new(HashMap::new()),
        });
        let weak = Rc::downgrade(&this);
        let every =
            (this.config.session_idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(every).await;
                let Some(this) = weak.upgrade() else { break };
                this.expire_idle();
            }
        })
        .detach();
        this
    }

    /// Request size limits for connections.
    pub fn limits(&self) -> HttpLimits {
        self.config.limits
    }

    /// Sessions on this shard.
    pub fn sessions(&self) -> usize {
        self.sessions.borrow().len()
    }

    fn expire_idle(&self) {
        let now = Instant::now();
        let idle = self.config.session_idle;
        let expired: Vec<String> = self
            .sessions
            .borrow()
            .iter()
            .filter(|(_, s)| {
                let streaming = s.stream.borrow().as_ref().is_some_and(|e| !e.is_done())
                    || s.replay.as_ref().is_some_and(|r| r.current().is_some());
                !streaming && now.duration_since(s.last_seen.get()) > idle
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            tracing::debug!(session = %&id[..8.min(id.len())], "session expired");
            self.remove_session(&id);
        }
    }

    fn sessions_changed(&self) {
        self.engine
            .shard()
            .metrics
            .sessions
            .set(self.sessions.borrow().len() as u64);
    }

    fn remove_session(&self, id: &str) -> bool {
        let Some(s) = self.sessions.borrow_mut().remove(id) else {
            return false;
        };
        self.sessions_changed();
        s.session.close();
        if let Some(stream) = s.stream.borrow_mut().take() {
            stream.finish();
        }
        if let Some(stream) = s.replay.as_ref().and_then(|r| r.current()) {
            stream.finish();
        }
        true
    }

    fn mint_session_id(&self) -> Option<String> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).ok()?;
        let mut id = format!("{:02x}", self.shard);
        for b in bytes {
            id.push_str(&format!("{b:02x}"));
        }
        Some(id)
    }

    fn origin_allowed(&self, origin: &str) -> bool {
        if self
            .config
            .allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
        {
            return true;
        }
        let Some(rest) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false;
        };
        matches!(host_part(rest), "localhost" | "127.0.0.1" | "::1")
    }

    fn host_allowed(&self, host: Option<&str>) -> bool {
        let Some(host) = host else { return false };
        let name = host_part(host);
        if self
            .config
            .allowed_hosts
            .iter()
            .any(|h| h == "*" || h.eq_ignore_ascii_case(name))
        {
            return true;
        }
        if self.config.bound.ip().is_unspecified() && self.config.allowed_hosts.is_empty() {
            return true;
        }
        matches!(name, "localhost" | "127.0.0.1" | "::1")
            || name == self.config.bound.ip().to_string()
    }

    /// Answer one request from a connection of this shard. A request for a legacy session owned by
    /// another shard is forwarded there over the mesh and answered from it.
    pub fn handle(
        self: &Rc<Self>,
        req: HttpRequest,
        outbox: &Rc<Outbox>,
        peer: Option<std::net::IpAddr>,
    ) -> Rc<dyn Pending> {
        if let Some(wait) = peer.and_then(|ip| self.rate_limited(ip)) {
            let ex = Exchange::reply(outbox.clone(), req.keep_alive, StatusMap::Legacy);
            ex.add_header("Retry-After", wait.as_secs().max(1).to_string());
            let e = ErrorObject::new(
                code::SERVER_BUSY,
                "rate limited: too many requests from this client",
            )
            .with_data(serde_json::json!({ "retryAfterMs": wait.as_millis() as u64 + 1 }));
            return Self::error(ex, 429, None, e);
        }
        if let Some(owner) = self.owner_of(&req).filter(|&o| o != self.shard) {
            if let Some(mesh) = self.mesh() {
                if owner < mesh.shards() {
                    return self.forward(&mesh, owner, req, outbox);
                }
            }
        }
        let sink: Rc<dyn ResponseSink> = outbox.clone();
        self.handle_local(req, &sink)
    }

    /// Take a token for `ip`; `Some(wait)` when the client is over its rate.
    fn rate_limited(&self, ip: std::net::IpAddr) -> Option<Duration> {
        if self.config.rate_limit_rps <= 0.0 {
            return None;
        }
        let now = self.epoch.elapsed();
        let mut buckets = self.buckets.borrow_mut();
        if buckets.len() > 65_536 {
            // Bounded memory: forget everyone (they start again with a full bucket).
            buckets.clear();
        }
        let (rps, burst) = (self.config.rate_limit_rps, self.config.rate_limit_burst);
        buckets
            .entry(ip)
            .or_insert_with(|| TokenBucket::new(rps, burst, now))
            .take(now)
            .err()
    }

    /// The shard named by the request's session id, if it carries one.
    fn owner_of(&self, req: &HttpRequest) -> Option<usize> {
        // 2026-07-28 tasks/* name their task in Mcp-Name; the task id names its shard.
        let task_method = matches!(
            req.header("mcp-method"),
            Some("tasks/get" | "tasks/update" | "tasks/cancel")
        );
        if req.method == Method::Post
            && task_method
            && req.header("mcp-protocol-version") == Some(MODERN)
        {
            let name = req.header("mcp-name").and_then(decode_header)?;
            return usize::from_str_radix(name.get(..2)?, 16).ok();
        }
        let id = match (req.method, req.path.as_str()) {
            (Method::Post, "/messages") => req.query_param("sessionId")?,
            (_, p) if p == self.config.endpoint => req.header("mcp-session-id")?,
            _ => return None,
        };
        usize::from_str_radix(id.get(..2)?, 16).ok()
    }

    fn mesh(&self) -> Option<Rc<Mesh>> {
        self.mesh.get_or_init(|| self.engine.shard().mesh()).clone()
    }

    fn forward(
        self: &Rc<Self>,
        mesh: &Rc<Mesh>,
        owner: usize,
        req: HttpRequest,
        outbox: &Rc<Outbox>,
    ) -> Rc<dyn Pending> {
        let ticket = self.next_ticket.get() + 1;
        self.next_ticket.set(ticket);
        let remote = Rc::new(RemoteExchange {
            outbox: outbox.clone(),
            done: Cell::new(false),
            keep_alive: Cell::new(req.keep_alive),
            owner,
            ticket,
            mesh: mesh.clone(),
            me: self.shard,
        });
        self.remote
            .borrow_mut()
            .insert(ticket, Rc::downgrade(&remote));
        mesh.send(
            owner,
            MeshMsg::Http(HttpMesh::Request {
                from: self.shard,
                ticket,
                request: Box::new(req),
            }),
        );
        remote
    }

    /// HTTP traffic from another shard.
    pub fn on_mesh(self: &Rc<Self>, msg: HttpMesh) {
        match msg {
            HttpMesh::Request {
                from,
                ticket,
                request,
            } => {
                let Some(mesh) = self.mesh() else { return };
                let sink: Rc<dyn ResponseSink> = Rc::new(MeshSink {
                    to: from,
                    ticket,
                    mesh,
                    owner: Rc::downgrade(self),
                });
                let ex = self.handle_local(*request, &sink);
                if !ex.is_done() {
                    self.forwarded.borrow_mut().insert((from, ticket), ex);
                }
            }
            HttpMesh::Cancel { from, ticket } => {
                let ex = self.forwarded.borrow_mut().remove(&(from, ticket));
                if let Some(ex) = ex {
                    ex.close();
                }
            }
            HttpMesh::Bytes { ticket, bytes } => {
                let remote = self.remote.borrow().get(&ticket).and_then(Weak::upgrade);
                if let Some(r) = remote {
                    r.outbox.send_raw(|out| out.extend_from_slice(&bytes));
                }
            }
            HttpMesh::Done { ticket, keep_alive } => {
                let remote = self
                    .remote
                    .borrow_mut()
                    .remove(&ticket)
                    .and_then(|w| w.upgrade());
                if let Some(r) = remote {
                    r.done.set(true);
                    r.keep_alive.set(r.keep_alive.get() && keep_alive);
                    // Wake the connection so it serves its next request.
                    r.outbox.send_raw(|_| {});
                }
            }
        }
    }

    /// Answer one request on this shard; the returned exchange may already be done.
    fn handle_local(
        self: &Rc<Self>,
        req: HttpRequest,
        outbox: &Rc<dyn ResponseSink>,
    ) -> Rc<Exchange> {
        let ex = Exchange::reply(outbox.clone(), req.keep_alive, StatusMap::Legacy);
        if let Some(origin) = req.header("origin") {
            if !self.origin_allowed(origin) {
                tracing::info!(origin, "request refused: Origin not allowed");
                ex.respond(403, Some("text/plain"), b"origin not allowed\n");
                return ex;
            }
            ex.add_header("Access-Control-Allow-Origin", origin.to_owned());
            ex.add_header(
                "Access-Control-Expose-Headers",
                "Mcp-Session-Id, WWW-Authenticate".into(),
            );
        }
        if !self.host_allowed(req.header("host")) {
            tracing::info!(host = ?req.header("host"), "request refused: Host not allowed");
            ex.respond(403, Some("text/plain"), b"host not allowed\n");
            return ex;
        }
        let endpoint = req.path == self.config.endpoint;
        let protected = req.method != Method::Options
            && (endpoint || req.path == "/sse" || req.path == "/messages");
        let mut principal = None;
        if let (Some(auth), true) = (&self.config.authenticator, protected) {
            match self.authorize(auth, &req) {
                Ok(p) => principal = Some(p),
                Err(e) => {
                    let (status, challenge, body) = auth.challenge(&e);
                    tracing::debug!(status, error = %e, "request refused by authorization");
                    ex.add_header("WWW-Authenticate", challenge);
                    ex.respond(status, Some("application/json"), &body);
                    return ex;
                }
            }
        }
        let principal = principal.as_ref();
        if let Some(auth) = &self.config.authenticator {
            if req.method == Method::Get
                && (req.path == auth.metadata_path()
                    || req.path == "/.well-known/oauth-protected-resource")
            {
                ex.add_header("Access-Control-Allow-Origin", "*".into());
                ex.respond(200, Some("application/json"), auth.metadata());
                return ex;
            }
        }
        match (req.method, req.path.as_str()) {
            (Method::Post, _) if endpoint => self.post(req, ex, principal),
            (Method::Get, _) if endpoint => self.get(req, outbox, ex, principal),
            (Method::Delete, _) if endpoint => self.delete(&req, ex, principal),
            (Method::Options, _) if endpoint || req.path == "/messages" => {
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
            (Method::Get, "/health") => {
                ex.respond(200, Some("text/plain"), b"ok\n");
                ex
            }
            (Method::Get, "/ready") => {
                if self.engine.shard().stopping.get() {
                    ex.respond(503, Some("text/plain"), b"draining\n");
                } else {
                    ex.respond(200, Some("text/plain"), b"ready\n");
                }
                ex
            }
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

    fn error(
        ex: Rc<Exchange>,
        status: u16,
        id: Option<&RequestId>,
        e: ErrorObject,
    ) -> Rc<Exchange> {
        ex.respond(status, Some("application/json"), &json_body(id, &e));
        ex
    }

    /// The principal of a request's bearer token: from this shard's cache of verified tokens, or
    /// verified now.
    fn authorize(&self, auth: &Authenticator, req: &HttpRequest) -> Result<Principal, AuthError> {
        let token = Authenticator::bearer(req.header("authorization"))?;
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(grant) = self.grants.borrow().get(token) {
            if grant.expires > now {
                return Ok(grant.principal.clone());
            }
        }
        let grant = auth.verify(token, now);
        let mut grants = self.grants.borrow_mut();
        match grant {
            Ok(grant) => {
                if grants.len() >= MAX_CACHED_GRANTS {
                    grants.clear();
                }
                let principal = grant.principal.clone();
                grants.insert(token.into(), grant);
                Ok(principal)
            }
            Err(e) => {
                grants.remove(token);
                Err(e)
            }
        }
    }

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
        let header_version = req.header("mcp-protocol-version");
        let session_id = req.header("mcp-session-id");
        let single_request = match &parsed {
            Parsed::Single(Ok(Message::Request(r))) => Some(r),
            _ => None,
        };
        let request_id = single_request.map(|r| r.id.clone());
        let body_version = single_request.and_then(|r| meta_protocol_version(r.params.as_deref()));
        match header_version {
            Some(MODERN) => return self.post_modern(req, parsed, ex),
            Some(v) if ProtocolVersion::parse(v).is_none() => {
                return Self::error(ex, 400, request_id.as_ref(), unsupported_version(v));
            }
            None if session_id.is_none() && body_version.as_deref() == Some(MODERN) => {
                let e = ErrorObject::new(
                    code::HEADER_MISMATCH,
                    "Header mismatch: MCP-Protocol-Version header is required",
                );
                return Self::error(ex, 400, request_id.as_ref(), e);
            }
            _ => {}
        }
        self.post_legacy(req, parsed, ex, principal)
    }

    fn post_modern(
        self: &Rc<Self>,
        req: HttpRequest,
        parsed: Parsed,
        ex: Rc<Exchange>,
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
        let id = Some(&request.id);
        let mismatch = |what: String| {
            ErrorObject::new(code::HEADER_MISMATCH, format!("Header mismatch: {what}"))
        };
        match req.header("mcp-method").and_then(decode_header) {
            None => {
                return Self::error(
                    ex,
                    400,
                    id,
                    mismatch("Mcp-Method header is required".into()),
                )
            }
            Some(m) if m != request.method => {
                return Self::error(
                    ex,
                    400,
                    id,
                    mismatch(format!(
                        "Mcp-Method header value '{m}' does not match body value '{}'",
                        request.method
                    )),
                );
            }
            Some(_) => {}
        }
        // Read only what the header rules compare, without building the params as a tree: the
        // engine parses them once, typed.
        // Params that do not even have the shape of the fields compared below are invalid
        // params, not a header mismatch.
        let view: HeaderView<'_> = match request.params.as_deref() {
            None => HeaderView::default(),
            Some(p) => match params_by_name(p)
                .and_then(|()| serde_json::from_str(p.get()).map_err(ErrorObject::invalid_params))
            {
                Ok(view) => view,
                Err(e) => return Self::error(ex, 400, id, e),
            },
        };
        let name_field = match request.method.as_str() {
            "tools/call" | "prompts/get" => Some(view.name.as_deref()),
            "resources/read" => Some(view.uri.as_deref()),
            "tasks/get" | "tasks/update" | "tasks/cancel" => Some(view.task_id.as_deref()),
            _ => None,
        };
        if let Some(body_value) = name_field {
            let body_value = body_value.unwrap_or_default();
            match req.header("mcp-name").and_then(decode_header) {
                None => {
                    return Self::error(ex, 400, id, mismatch("Mcp-Name header is required".into()))
                }
                Some(n) if n != body_value => {
                    return Self::error(
                        ex,
                        400,
                        id,
                        mismatch(format!(
                            "Mcp-Name header value '{n}' does not match body value '{body_value}'"
                        )),
                    );
                }
                Some(_) => {}
            }
        }
        if request.method == "tools/call" {
            let tool = view.name.as_deref().unwrap_or_default();
            if let Err(e) = self.check_param_headers(&req, tool, view.arguments) {
                return Self::error(ex, 400, id, e);
            }
        }
        match view.meta.as_ref().and_then(|m| m.version.as_deref()) {
            None => {
                let e = ErrorObject::invalid_params(
                    "_meta must carry io.modelcontextprotocol/protocolVersion",
                );
                return Self::error(ex, 400, id, e);
            }
            Some(v) if v != MODERN => {
                let e = mismatch(format!(
                    "MCP-Protocol-Version header value '{MODERN}' does not match body value '{v}'"
                ));
                return Self::error(ex, 400, id, e);
            }
            Some(_) => {}
        }
        if !view
            .meta
            .as_ref()
            .and_then(|m| m.capabilities)
            .is_some_and(|c| c.get().starts_with('{'))
        {
            let e = ErrorObject::invalid_params(
                "_meta must carry io.modelcontextprotocol/clientCapabilities",
            );
            return Self::error(ex, 400, id, e);
        }
        let listen = request.method == "subscriptions/listen";
        // Stateless: a session lives as long as this exchange. Closing the response cancels.
        let session = Rc::new(Session::new(None));
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

    /// SEP-2243: a tool argument whose schema carries `x-mcp-header: Name` travels in the
    /// `Mcp-Param-Name` header too (plain, or `=?base64?...?=` with strict padding), and the two
    /// must agree. A missing header, a bad encoding or a different value is 400 + -32020.
    fn check_param_headers(
        &self,
        req: &HttpRequest,
        tool: &str,
        args: Option<&serde_json::value::RawValue>,
    ) -> Result<(), ErrorObject> {
        let params = self.engine.header_params(tool);
        if params.is_empty() {
            return Ok(());
        }
        let args: Option<Value> = args.and_then(|a| serde_json::from_str(a.get()).ok());
        let args = args.as_ref();
        let mismatch = |what: String| {
            ErrorObject::new(code::HEADER_MISMATCH, format!("Header mismatch: {what}"))
        };
        for (arg, suffix) in params {
            let header = format!("mcp-param-{}", suffix.to_ascii_lowercase());
            let body = args.and_then(|a| a.get(arg)).filter(|v| !v.is_null());
            let sent = req.header(&header);
            let (body, sent) = match (body, sent) {
                (None, None) => continue,
                (Some(_), None) => {
                    return Err(mismatch(format!(
                        "Mcp-Param-{suffix} header is required for argument {arg}"
                    )))
                }
                (None, Some(_)) => {
                    return Err(mismatch(format!(
                        "Mcp-Param-{suffix} header given without argument {arg}"
                    )))
                }
                (Some(b), Some(s)) => (b, s),
            };
            let decoded = match sent
                .strip_prefix("=?base64?")
                .and_then(|v| v.strip_suffix("?="))
            {
                Some(b64) => STANDARD
                    .decode(b64)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| mismatch(format!("Mcp-Param-{suffix} is not valid Base64")))?,
                None => sent.to_owned(),
            };
            let agrees = match body {
                Value::String(s) => *s == decoded,
                Value::Number(n) => decoded.parse::<f64>().ok() == n.as_f64(),
                Value::Bool(b) => decoded == b.to_string(),
                other => serde_json::from_str::<Value>(&decoded).is_ok_and(|v| v == *other),
            };
            if !agrees {
                return Err(mismatch(format!(
                    "Mcp-Param-{suffix} header value does not match argument {arg}"
                )));
            }
        }
        Ok(())
    }

    fn post_legacy(
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
        let session_id = req.header("mcp-session-id").map(str::to_owned);
        let hs = match (&session_id, is_initialize) {
            (None, true) => {
                if self.sessions.borrow().len() >= self.config.max_sessions {
                    tracing::warn!(
                        limit = self.config.max_sessions,
                        "session refused: shard at its session limit"
                    );
                    return Self::error(
                        ex,
                        503,
                        None,
                        ErrorObject::new(code::SERVER_BUSY, "too many sessions"),
                    );
                }
                let Some(id) = self.mint_session_id() else {
                    return Self::error(
                        ex,
                        500,
                        None,
                        ErrorObject::internal("no randomness for a session id"),
                    );
                };
                let replay = Rc::new(ReplayStream::new(self.config.replay_events));
                let notify: Rc<dyn Outlet> = replay.clone();
                let hs = Rc::new(HttpSession {
                    session: Rc::new(Session::new(Some(notify))),
                    last_seen: Cell::new(Instant::now()),
                    replay: Some(replay),
                    stream: RefCell::new(None),
                    sse_transport: false,
                    principal: principal.cloned(),
                });
                ex.add_header("Mcp-Session-Id", id.clone());
                let outlet: Rc<dyn Outlet> = ex.clone();
                self.engine.on_parsed(&hs.session, &outlet, parsed);
                if hs.session.legacy.borrow().version().is_some() {
                    self.sessions.borrow_mut().insert(id, hs);
                    self.sessions_changed();
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
                Some(hs) => hs,
                None => {
                    return Self::error(
                        ex,
                        404,
                        None,
                        ErrorObject::invalid_request("Session not found"),
                    );
                }
            },
        };
        hs.last_seen.set(Instant::now());
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

    fn session_of(
        &self,
        req: &HttpRequest,
        principal: Option<&Principal>,
    ) -> Result<Rc<HttpSession>, (u16, &'static str)> {
        let id = req
            .header("mcp-session-id")
            .ok_or((400, "Mcp-Session-Id header is required"))?;
        self.session(id, principal)
            .ok_or((404, "Session not found"))
    }

    /// The session named `id`, if `principal` may use it (see [`HttpSession::usable_by`]).
    fn session(&self, id: &str, principal: Option<&Principal>) -> Option<Rc<HttpSession>> {
        self.sessions
            .borrow()
            .get(id)
            .filter(|hs| hs.usable_by(principal))
            .cloned()
    }

    fn get(
        self: &Rc<Self>,
        req: HttpRequest,
        outbox: &Rc<dyn ResponseSink>,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        if req.header("mcp-protocol-version") == Some(MODERN) {
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
            Err((status, why)) => {
                return Self::error(ex, status, None, ErrorObject::invalid_request(why))
            }
        };
        hs.last_seen.set(Instant::now());
        let Some(replay) = hs.replay.clone() else {
            return Self::error(
                ex,
                405,
                None,
                ErrorObject::invalid_request("this session streams on /sse"),
            );
        };
        let last_event_id = req
            .header("last-event-id")
            .and_then(|v| v.parse::<u64>().ok());
        let stream = Exchange::stream(outbox.clone(), req.keep_alive, Vec::new());
        if let Some(old) = replay.attach(stream.clone(), last_event_id) {
            old.finish();
        }
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

    fn delete(
        &self,
        req: &HttpRequest,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        let id = match self.session_of(req, principal) {
            Ok(_) => req.header("mcp-session-id").unwrap_or_default(),
            Err((status, why)) => {
                return Self::error(ex, status, None, ErrorObject::invalid_request(why))
            }
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

    fn keep_alive_comments(&self, stream: &Rc<Exchange>) {
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

    /// 2024-11-05: GET /sse opens a session whose answers travel on this stream.
    fn sse_open(
        self: &Rc<Self>,
        req: &HttpRequest,
        outbox: &Rc<dyn ResponseSink>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        if self.sessions.borrow().len() >= self.config.max_sessions {
            let ex = Exchange::reply(outbox.clone(), req.keep_alive, StatusMap::Legacy);
            return Self::error(
                ex,
                503,
                None,
                ErrorObject::new(code::SERVER_BUSY, "too many sessions"),
            );
        }
        let Some(id) = self.mint_session_id() else {
            let ex = Exchange::reply(outbox.clone(), req.keep_alive, StatusMap::Legacy);
            return Self::error(
                ex,
                500,
                None,
                ErrorObject::internal("no randomness for a session id"),
            );
        };
        let stream = Exchange::stream(outbox.clone(), req.keep_alive, Vec::new());
        let outlet: Rc<dyn Outlet> = stream.clone();
        let hs = Rc::new(HttpSession {
            session: Rc::new(Session::new(Some(outlet))),
            last_seen: Cell::new(Instant::now()),
            replay: None,
            stream: RefCell::new(Some(stream.clone())),
            sse_transport: true,
            principal: principal.cloned(),
        });
        stream.event("endpoint", format!("/messages?sessionId={id}").as_bytes());
        self.sessions.borrow_mut().insert(id.clone(), hs);
        self.sessions_changed();
        let weak = Rc::downgrade(self);
        stream.on_close(move || {
            if let Some(this) = weak.upgrade() {
                this.remove_session(&id);
            }
        });
        self.keep_alive_comments(&stream);
        stream
    }

    /// 2024-11-05: POST /messages?sessionId=...: accepted here, answered on the session's stream.
    fn sse_post(
        &self,
        req: &HttpRequest,
        ex: Rc<Exchange>,
        principal: Option<&Principal>,
    ) -> Rc<Exchange> {
        let Some(hs) = req
            .query_param("sessionId")
            .and_then(|id| self.session(id, principal))
        else {
            return Self::error(
                ex,
                404,
                None,
                ErrorObject::invalid_request("Session not found"),
            );
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
        hs.last_seen.set(Instant::now());
        let outlet: Rc<dyn Outlet> = stream;
        self.engine
            .on_parsed(&hs.session, &outlet, jsonrpc::parse(&req.body));
        ex.respond(202, Some("text/plain"), b"Accepted");
        ex
    }
}

/// The parts of a 2026-07-28 request's params the HTTP header rules compare against.
#[derive(serde::Deserialize, Default)]
struct HeaderView<'a> {
    #[serde(borrow, default)]
    name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    uri: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "taskId", borrow, default)]
    task_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    arguments: Option<&'a serde_json::value::RawValue>,
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<MetaView<'a>>,
}

/// The 2026-07-28 `_meta` keys the HTTP layer checks.
#[derive(serde::Deserialize)]
struct MetaView<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    version: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow, default)]
    capabilities: Option<&'a serde_json::value::RawValue>,
}

/// W3C trace context sent as HTTP headers joins a single request's `_meta` (where the engine
/// looks for it), unless the body already carries its own. Only traced requests pay for this.
fn with_trace_headers(req: &HttpRequest, parsed: Parsed) -> Parsed {
    let Some(traceparent) = req.header("traceparent") else {
        return parsed;
    };
    let Parsed::Single(Ok(Message::Request(mut r))) = parsed else {
        return parsed;
    };
    let mut params: Value = r
        .params
        .as_deref()
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(obj) = params.as_object_mut() {
        let meta = obj.entry("_meta").or_insert_with(|| serde_json::json!({}));
        if let Some(meta) = meta.as_object_mut() {
            if !meta.contains_key("traceparent") {
                meta.insert("traceparent".into(), Value::String(traceparent.to_owned()));
                if let Some(ts) = req.header("tracestate") {
                    meta.insert("tracestate".into(), Value::String(ts.to_owned()));
                }
            }
        }
        if let Ok(raw) = serde_json::value::RawValue::from_string(params.to_string()) {
            r.params = Some(raw);
        }
    }
    Parsed::Single(Ok(Message::Request(r)))
}

/// The ids of the requests in a body (to cancel them if the client goes away).
fn request_ids(parsed: &Parsed) -> Vec<RequestId> {
    match parsed {
        Parsed::Single(Ok(Message::Request(r))) => vec![r.id.clone()],
        Parsed::Batch(items) => items
            .iter()
            .filter_map(|m| match m {
                Ok(Message::Request(r)) => Some(r.id.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
