//! [`HttpConfig`]: the HTTP listener's settings, all from the command line. Plain data: it must not
//! hold per-shard state (sessions, caches, buckets live in [`super::HttpService`]).

use crate::auth::{AuthConfig, Authenticator};
use ringmcp_proto::forwarded::TrustedProxies;
use ringmcp_proto::framing::http::HttpLimits;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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
    /// Pipelined requests one connection holds decoded, waiting their turn; past it the rest stay
    /// bytes and the connection is not read until there is room (back-pressure, no refusal).
    pub pipeline_depth: usize,
    /// Requests per second one client address may send (0 = no limit).
    pub rate_limit_rps: f64,
    /// Burst above the rate.
    pub rate_limit_burst: u32,
    /// Peers whose PROXY header and `X-Forwarded-For` name the client (empty: nobody's).
    pub trusted_proxies: TrustedProxies,
    /// Every connection starts with a PROXY protocol header (v2 or v1) from a trusted proxy;
    /// one without it, or from another peer, is closed unanswered.
    pub proxy_protocol: bool,
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
            pipeline_depth: 64,
            rate_limit_rps: 0.0,
            rate_limit_burst: 100,
            trusted_proxies: TrustedProxies::default(),
            proxy_protocol: false,
            tls: false,
            auth: AuthConfig::default(),
            authenticator: None,
        }
    }
}
