//! Who may talk to a shard's HTTP endpoints: who the client is behind trusted proxies, Origin and
//! Host checks (DNS rebinding), the per-client rate limit, and bearer-token authorization with the
//! shard's cache of verified tokens. These run before routing; nothing here touches sessions, the
//! mesh or the MCP engine.

use super::exchange::Exchange;
use super::router::HttpService;
use crate::auth::{AuthError, Authenticator, Grant, Principal};
use ringmcp_proto::framing::http::{HttpRequest, Method};
use ringmcp_proto::ratelimit::TokenBucket;
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Verified tokens a shard remembers at most (the cache is emptied when full).
const MAX_CACHED_GRANTS: usize = 16_384;

/// Client addresses a shard keeps rate-limit buckets for at most.
const MAX_BUCKETS: usize = 65_536;

/// A shard's security state.
pub(super) struct Security {
    /// Rate-limit buckets by client address.
    buckets: RefCell<HashMap<IpAddr, TokenBucket>>,
    epoch: Instant,
    /// Bearer tokens this shard verified, until they expire (signature checks are not repeated
    /// per request).
    grants: RefCell<HashMap<Box<str>, Grant>>,
}

impl Security {
    pub(super) fn new() -> Self {
        Security {
            buckets: RefCell::new(HashMap::new()),
            epoch: Instant::now(),
            grants: RefCell::new(HashMap::new()),
        }
    }
}

/// The request was refused; the refusal is already written to its exchange.
pub(super) struct Refused;

fn host_part(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

impl HttpService {
    /// Origin, Host and bearer-token checks before routing: the request's principal (none when
    /// authorization is off or the path is not protected), or [`Refused`] once the refusal is
    /// written to `ex`. An allowed Origin gets its CORS headers on `ex`.
    pub(super) fn admit(
        &self,
        req: &HttpRequest,
        ex: &Exchange,
        client: Option<IpAddr>,
    ) -> Result<Option<Principal>, Refused> {
        if let Some(origin) = req.header("origin") {
            if !self.origin_allowed(origin) {
                tracing::info!(origin, client = ?client, "request refused: Origin not allowed");
                ex.respond(403, Some("text/plain"), b"origin not allowed\n");
                return Err(Refused);
            }
            ex.add_header("Access-Control-Allow-Origin", origin.to_owned());
            ex.add_header(
                "Access-Control-Expose-Headers",
                "Mcp-Session-Id, WWW-Authenticate".into(),
            );
        }
        if !self.host_allowed(req.header("host")) {
            tracing::info!(
                host = ?req.header("host"),
                client = ?client,
                "request refused: Host not allowed"
            );
            ex.respond(403, Some("text/plain"), b"host not allowed\n");
            return Err(Refused);
        }
        let protected = req.method != Method::Options
            && (req.path() == self.config.endpoint
                || req.path() == "/sse"
                || req.path() == "/messages");
        let mut principal = None;
        if let (Some(auth), true) = (&self.config.authenticator, protected) {
            match self.authorize(auth, req) {
                Ok(p) => principal = Some(p),
                Err(e) => {
                    let (status, challenge, body) = auth.challenge(&e);
                    tracing::debug!(
                        status,
                        error = %e,
                        client = ?client,
                        "request refused by authorization"
                    );
                    ex.add_header("WWW-Authenticate", challenge);
                    ex.respond(status, Some("application/json"), &body);
                    return Err(Refused);
                }
            }
        }
        Ok(principal)
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

    /// The client of a request that arrived from `peer`: `peer` itself, unless it is a trusted
    /// proxy and the request carries `X-Forwarded-For` (see
    /// [`ringmcp_proto::forwarded::TrustedProxies::client`]).
    pub(super) fn client(&self, peer: IpAddr, req: &HttpRequest) -> IpAddr {
        let trusted = &self.config.trusted_proxies;
        if trusted.is_empty() {
            return peer;
        }
        let forwarded: Vec<&str> = req
            .headers()
            .filter(|(name, _)| *name == "x-forwarded-for")
            .map(|(_, value)| value)
            .collect();
        trusted.client(peer, forwarded.into_iter())
    }

    /// Take a token for `ip`; `Some(wait)` when the client is over its rate.
    pub(super) fn rate_limited(&self, ip: IpAddr) -> Option<Duration> {
        if self.config.rate_limit_rps <= 0.0 {
            return None;
        }
        let now = self.security.epoch.elapsed();
        let mut buckets = self.security.buckets.borrow_mut();
        if buckets.len() > MAX_BUCKETS {
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

    /// The principal of a request's bearer token: from this shard's cache of verified tokens, or
    /// verified now.
    fn authorize(&self, auth: &Authenticator, req: &HttpRequest) -> Result<Principal, AuthError> {
        let token = Authenticator::bearer(req.header("authorization"))?;
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(grant) = self.security.grants.borrow().get(token) {
            if grant.expires > now {
                return Ok(grant.principal.clone());
            }
        }
        let grant = auth.verify(token, now);
        let mut grants = self.security.grants.borrow_mut();
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
}
