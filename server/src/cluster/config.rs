//! [`ClusterConfig`]: how a node joins a cluster (the Redis it shares state through, its node
//! id, the link's limits) and [`RedisUrl`], the `redis://` address parsed and resolved. Plain
//! data, parsed and resolved on the main thread before any shard starts: no shard ever runs a
//! blocking name lookup.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;
use std::time::Duration;

/// Why a cluster setting cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterConfigError {
    /// The Redis URL is malformed.
    #[error("bad Redis URL {url:?}: {why} (expected redis://[USER:PASSWORD@]HOST:PORT[/DB])")]
    Url {
        /// The URL as given, password hidden.
        url: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The Redis host name does not resolve.
    #[error("cannot resolve Redis host {host}: {why}")]
    Resolve {
        /// The host.
        host: String,
        /// What the resolver said.
        why: String,
    },
    /// The node id cannot be used.
    #[error("bad node id {0:?}: 1 to 32 characters of A-Z a-z 0-9 _ -")]
    NodeId(String),
}

/// A parsed `redis://[USER:PASSWORD@]HOST:PORT[/DB]` (or `rediss://`, Redis over TLS).
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// Host name or address.
    pub host: String,
    /// Port (6379 when the URL names none).
    pub port: u16,
    /// ACL user (`default` when only a password is given).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Database number.
    pub db: u32,
    /// `rediss://`: TLS to Redis.
    pub tls: bool,
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

/// Shown without the password, which must never reach a log.
impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "rediss" } else { "redis" };
        write!(f, "{scheme}://")?;
        match (&self.user, &self.password) {
            (Some(user), Some(_)) => write!(f, "{user}:***@")?,
            (None, Some(_)) => write!(f, ":***@")?,
            (Some(user), None) => write!(f, "{user}@")?,
            (None, None) => {}
        }
        write!(f, "{}:{}/{}", self.host, self.port, self.db)
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl FromStr for RedisUrl {
    type Err = ClusterConfigError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let bad = |why| ClusterConfigError::Url {
            url: match url.rsplit_once('@') {
                Some((_, host)) => format!("redis://***@{host}"),
                None => url.to_string(),
            },
            why,
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis://") {
            (false, rest)
        } else if let Some(rest) = url.strip_prefix("rediss://") {
            (true, rest)
        } else {
            return Err(bad("the scheme must be redis:// or rediss://"));
        };
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((auth, rest)) => (Some(auth), rest),
            None => (None, rest),
        };
        let (user, password) = match auth {
            None => (None, None),
            Some(auth) => {
                let (user, password) = match auth.split_once(':') {
                    Some((user, password)) => (user, Some(password)),
                    None => (auth, None),
                };
                let user = (!user.is_empty())
                    .then(|| percent_decode(user))
                    .map(|u| u.ok_or_else(|| bad("bad percent-encoding in the user")))
                    .transpose()?;
                let password = password
                    .map(|p| {
                        percent_decode(p).ok_or_else(|| bad("bad percent-encoding in the password"))
                    })
                    .transpose()?;
                (user, password)
            }
        };
        let (hostport, db) = match rest.split_once('/') {
            Some((hostport, "")) => (hostport, 0),
            Some((hostport, db)) => (
                hostport,
                db.parse()
                    .map_err(|_| bad("the database must be a number"))?,
            ),
            None => (rest, 0),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in the host"))?;
            let port = match after.strip_prefix(':') {
                Some(port) => port.parse().map_err(|_| bad("the port must be a number"))?,
                None if after.is_empty() => 6379,
                None => return Err(bad("junk after the host")),
            };
            (host.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (
                    host.to_string(),
                    port.parse().map_err(|_| bad("the port must be a number"))?,
                ),
                None => (hostport.to_string(), 6379),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        Ok(RedisUrl {
            host,
            port,
            user,
            password,
            db,
            tls,
        })
    }
}

impl RedisUrl {
    /// The address to connect to: resolved once, here, by the thread that starts the server.
    pub fn resolve(&self) -> Result<SocketAddr, ClusterConfigError> {
        let err = |why: String| ClusterConfigError::Resolve {
            host: self.host.clone(),
            why,
        };
        (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| err(e.to_string()))?
            .next()
            .ok_or_else(|| err("no address".into()))
    }
}

/// How this node takes part in a cluster. Without one (the default) a node keeps everything in
/// its own memory.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Where the shared state lives.
    pub redis: RedisUrl,
    /// This node's name, unique among live nodes; it prefixes the session ids it mints.
    pub node_id: String,
    /// Prefix of every key this cluster writes (several clusters can share one Redis).
    pub key_prefix: String,
    /// Commands one shard's link may have waiting for their replies; past it, requests that need
    /// the store are shed with 503 at once.
    pub max_in_flight: usize,
    /// A reply that takes longer than this marks the connection dead: its commands fail with 503
    /// and the link reconnects.
    pub command_timeout: Duration,
    /// About how many notices the cluster's log keeps (Redis trims it near this length): how far
    /// back a legacy GET stream can resume, and a reconnecting node can catch up.
    pub notice_log: usize,
}

impl ClusterConfig {
    /// A node named `node_id` sharing state through `redis`, with the default limits.
    pub fn new(redis: RedisUrl, node_id: &str) -> Result<Self, ClusterConfigError> {
        if !crate::service::ids::valid_node(node_id) {
            return Err(ClusterConfigError::NodeId(node_id.to_string()));
        }
        Ok(ClusterConfig {
            redis,
            node_id: node_id.to_string(),
            key_prefix: "ringmcp".into(),
            max_in_flight: 4096,
            command_timeout: Duration::from_secs(2),
            notice_log: 10_000,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> RedisUrl {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn urls_parse_with_their_defaults() {
        let u = url("redis://127.0.0.1:6380");
        assert_eq!(
            (u.host.as_str(), u.port, u.db, u.tls),
            ("127.0.0.1", 6380, 0, false)
        );
        assert_eq!((u.user, u.password), (None, None));
        let u = url("rediss://app:p%40ss@cache.internal/3");
        assert_eq!(
            (u.host.as_str(), u.port, u.db, u.tls),
            ("cache.internal", 6379, 3, true)
        );
        assert_eq!(u.user.as_deref(), Some("app"));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        let u = url("redis://:secret@[::1]:7000/");
        assert_eq!(
            (u.host.as_str(), u.port, u.user.as_deref()),
            ("::1", 7000, None)
        );
        assert_eq!(u.password.as_deref(), Some("secret"));
    }

    #[test]
    fn bad_urls_say_why_and_never_show_the_password() {
        for bad in [
            "http://x:1",
            "redis://",
            "redis://h:port",
            "redis://h:1/db",
            "redis://[::1",
        ] {
            assert!(bad.parse::<RedisUrl>().is_err(), "{bad} parsed");
        }
        let e = "redis://u:hunter2@h:x"
            .parse::<RedisUrl>()
            .err()
            .map(|e| e.to_string());
        assert!(
            e.as_deref()
                .is_some_and(|e| !e.contains("hunter2") && e.contains("port")),
            "{e:?}"
        );
        assert_eq!(
            url("redis://u:hunter2@h:1/2").to_string(),
            "redis://u:***@h:1/2"
        );
    }

    #[test]
    fn node_ids_are_checked() {
        let redis = url("redis://h");
        assert!(ClusterConfig::new(redis.clone(), "node-1").is_ok());
        assert!(ClusterConfig::new(redis.clone(), "").is_err());
        assert!(ClusterConfig::new(redis, "a.b").is_err());
    }
}
