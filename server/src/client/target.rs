//! [`Target`]: a server URL as the shard client takes it (`tcp://host:port`, `http://...`,
//! `https://...`), its host resolved without blocking the shard (the lookup runs on glommio's
//! blocking-thread pool, one per executor), and the TLS settings an `https` URL gets when the
//! caller gives none (the platform's verifier, on the ring provider the server uses).
//!
//! It must not dial or speak MCP: it only turns text into what [`ShardClient`]'s connects take.
//!
//! [`ShardClient`]: super::ShardClient

use super::error::ShardClientError;
use super::http::HttpEndpoint;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use url::{Host, Url};

/// A parsed server URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Target {
    /// Newline-delimited JSON over TCP.
    Tcp { host: String, port: u16 },
    /// Streamable HTTP (over TLS when `tls`).
    Http {
        host: String,
        port: u16,
        /// `Host`'s value (`host[:port]`, the port only when not the scheme's default).
        authority: String,
        /// Path and query, as requests name them.
        path: String,
        tls: bool,
    },
}

impl Target {
    /// Read `url`: `tcp://HOST:PORT`, or an `http`/`https` URL of the MCP endpoint.
    pub(super) fn parse(url: &str) -> Result<Self, ShardClientError> {
        let bad = |why: &str| ShardClientError::Address(format!("{url}: {why}"));
        let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let host = match parsed.host() {
            Some(Host::Domain(d)) => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(bad("no host")),
        };
        let port = parsed.port_or_known_default();
        match parsed.scheme() {
            "tcp" => Ok(Target::Tcp {
                host,
                port: port.ok_or_else(|| bad("a tcp:// URL needs a port"))?,
            }),
            scheme @ ("http" | "https") => {
                let port = port.ok_or_else(|| bad("no port"))?;
                let authority = match (parsed.host_str(), parsed.port()) {
                    (Some(h), Some(p)) => format!("{h}:{p}"),
                    (Some(h), None) => h.to_owned(),
                    (None, _) => return Err(bad("no host")),
                };
                let mut path = parsed.path().to_owned();
                if let Some(query) = parsed.query() {
                    path.push('?');
                    path.push_str(query);
                }
                Ok(Target::Http {
                    host,
                    port,
                    authority,
                    path,
                    tls: scheme == "https",
                })
            }
            other => Err(bad(&format!(
                "unknown scheme {other:?} (tcp, http or https)"
            ))),
        }
    }

    /// The address to dial: an IP literal as it is, a name looked up off the shard.
    pub(super) async fn resolve(&self) -> Result<SocketAddr, ShardClientError> {
        let (host, port) = match self {
            Target::Tcp { host, port } | Target::Http { host, port, .. } => (host.clone(), *port),
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(SocketAddr::new(ip, port));
        }
        let looked_up = glommio::executor()
            .spawn_blocking(move || {
                (host.as_str(), port)
                    .to_socket_addrs()
                    .map(|mut addrs| addrs.next())
                    .map_err(|e| format!("{host}: {e}"))
                    .and_then(|first| first.ok_or_else(|| format!("{host}: no address")))
            })
            .await;
        looked_up.map_err(ShardClientError::Address)
    }

    /// The HTTP endpoint at `addr`, with `tls` (or the default settings) for `https`. `None`
    /// for a TCP target.
    pub(super) fn endpoint(
        &self,
        addr: SocketAddr,
        tls: Option<Arc<ClientConfig>>,
    ) -> Result<Option<HttpEndpoint>, ShardClientError> {
        let Target::Http {
            host,
            authority,
            path,
            tls: secure,
            ..
        } = self
        else {
            return Ok(None);
        };
        if !*secure {
            return Ok(Some(HttpEndpoint::http(addr, authority, path)));
        }
        let name = ServerName::try_from(host.clone())
            .map_err(|e| ShardClientError::Address(format!("{host}: {e}")))?;
        let config = match tls {
            Some(config) => config,
            None => default_tls()?,
        };
        Ok(Some(HttpEndpoint::https(
            addr, authority, path, name, config,
        )))
    }
}

thread_local! {
    /// Made once per shard: loading the system's roots reads files.
    static DEFAULT_TLS: std::cell::OnceCell<Arc<ClientConfig>> = const { std::cell::OnceCell::new() };
}

/// TLS 1.2 and 1.3 with the operating system's roots, speaking HTTP/1.1 (ALPN).
pub(super) fn default_tls() -> Result<Arc<ClientConfig>, ShardClientError> {
    if let Some(config) = DEFAULT_TLS.with(|c| c.get().cloned()) {
        return Ok(config);
    }
    let config = platform_tls()?;
    DEFAULT_TLS.with(|c| c.get_or_init(|| config.clone()).clone());
    Ok(config)
}

fn platform_tls() -> Result<Arc<ClientConfig>, ShardClientError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| ShardClientError::Address(format!("TLS settings: {e}")))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_each_scheme() {
        assert_eq!(
            Target::parse("tcp://127.0.0.1:7000").expect("tcp"),
            Target::Tcp {
                host: "127.0.0.1".into(),
                port: 7000
            }
        );
        assert_eq!(
            Target::parse("https://example.com/mcp?x=1").expect("https"),
            Target::Http {
                host: "example.com".into(),
                port: 443,
                authority: "example.com".into(),
                path: "/mcp?x=1".into(),
                tls: true,
            }
        );
        assert_eq!(
            Target::parse("http://[::1]:8080/").expect("http"),
            Target::Http {
                host: "::1".into(),
                port: 8080,
                authority: "[::1]:8080".into(),
                path: "/".into(),
                tls: false,
            }
        );
    }

    #[test]
    fn unusable_urls_say_why() {
        for (url, why) in [
            ("tcp://127.0.0.1", "needs a port"),
            ("ftp://example.com/", "unknown scheme"),
            ("not a url", "relative URL"),
        ] {
            let err = Target::parse(url).expect_err(url).to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
