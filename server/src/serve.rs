//! [`serve`]: the one call that runs a registry on its transports.

use crate::auth::Authenticator;
use crate::cluster::{ClusterConfig, ClusterPlan};
use crate::engine::Limits;
use crate::http::HttpConfig;
use crate::netring::{DriverConfig, Wire};
use crate::runtime::{self, Listen, RuntimeConfig, ServeError};
use crate::sdk::{LiveRegistry, Registry};
use ringmcp_proto::seal::KeyRing;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// One session on stdin/stdout.
    Stdio,
    /// Newline-delimited JSON-RPC over TCP.
    Tcp(SocketAddr),
    /// Streamable HTTP (endpoint `/mcp`) and the 2024-11-05 HTTP+SSE endpoints (`/sse`).
    Http(SocketAddr),
}

/// Everything [`serve`] needs besides the registry.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen: stdio alone, or any number of TCP and HTTP listeners.
    pub transports: Vec<Transport>,
    /// Shards (cores); 0 = every available core.
    pub cores: usize,
    /// Protocol limits.
    pub limits: Limits,
    /// Net loop tunables.
    pub driver: DriverConfig,
    /// HTTP settings (the bound address is filled in when the listener is bound).
    pub http: HttpConfig,
    /// listen(2) backlog.
    pub backlog: i32,
    /// SO_SNDBUF of accepted sockets in bytes (the kernel doubles it); 0 leaves the kernel's
    /// autotuning, which lets each connection buffer up to `net.ipv4.tcp_wmem`'s maximum.
    pub socket_send_buffer: usize,
    /// Listen even where another process already listens (every shard socket has SO_REUSEPORT, so
    /// the kernel then splits new connections between the processes). Off by default: a server
    /// that holds sessions in memory must not share its port by accident.
    pub share_port: bool,
    /// Executor spin before parking.
    pub spin_before_park: Duration,
    /// glommio registered I/O memory per executor.
    pub io_memory: usize,
    /// The keys that seal cursors and `requestState` (the same on every node behind one load
    /// balancer); `None`: one random key for this process.
    pub keys: Option<KeyRing>,
    /// Join a cluster: legacy sessions in Redis, the node id leased there. `None` (the default):
    /// one node, everything in memory.
    pub cluster: Option<ClusterConfig>,
    /// How long HTTP listeners keep serving after SIGTERM/SIGINT while `/ready` answers 503, so
    /// that a load balancer takes the node out before it stops (zero: stop at once).
    pub drain: Duration,
}

impl ServeOptions {
    /// Defaults for one transport.
    pub fn new(transport: Transport) -> Self {
        ServeOptions {
            transports: vec![transport],
            cores: 0,
            limits: Limits::default(),
            driver: DriverConfig::default(),
            http: HttpConfig::new(SocketAddr::from(([127, 0, 0, 1], 8080))),
            backlog: 4096,
            socket_send_buffer: 0,
            share_port: false,
            spin_before_park: Duration::ZERO,
            io_memory: 256 << 10,
            keys: None,
            cluster: None,
            drain: Duration::ZERO,
        }
    }
}

/// Serve `registry` until SIGINT/SIGTERM (or, on stdio, end of input). The set is fixed; to
/// change it while it runs, use [`serve_live`].
pub fn serve(registry: Registry, options: ServeOptions) -> Result<(), ServeError> {
    serve_registry(LiveRegistry::fixed(registry), options)
}

/// Serve `registry`, whose tools, resources and prompts may change while it runs
/// ([`LiveRegistry::update`], from the program or from a handler): clients are told they may
/// (`listChanged`) and are sent `notifications/*/list_changed` when they do.
pub fn serve_live(registry: LiveRegistry, options: ServeOptions) -> Result<(), ServeError> {
    serve_registry(registry, options)
}

fn serve_registry(registry: LiveRegistry, mut options: ServeOptions) -> Result<(), ServeError> {
    let sigfd = runtime::signal_fd()?;
    let available: Vec<usize> = core_affinity::get_core_ids()
        .unwrap_or_default()
        .into_iter()
        .map(|c| c.id)
        .collect();
    let available = if available.is_empty() {
        vec![0]
    } else {
        available
    };
    let cores = if options.cores == 0 {
        available.len()
    } else {
        options.cores.min(available.len())
    };
    let cpus: Vec<usize> = available.into_iter().take(cores).collect();
    if options.cluster.is_some() && options.keys.is_none() {
        return Err(ServeError::Config(
            "cluster mode needs the cluster key (--cluster-key-file or --cluster-key): every \
             node must seal cursors and requestState with the same key"
                .into(),
        ));
    }
    let listen = if options.transports.contains(&Transport::Stdio) {
        if options.cluster.is_some() {
            return Err(ServeError::Config(
                "--cluster serves HTTP sessions: it cannot be combined with --stdio".into(),
            ));
        }
        if options.transports.len() > 1 {
            return Err(ServeError::Config(
                "--stdio cannot be combined with network listeners".into(),
            ));
        }
        Listen::Stdio
    } else {
        let mut per_shard: Vec<Vec<(std::os::fd::OwnedFd, Wire)>> =
            (0..cpus.len()).map(|_| Vec::new()).collect();
        let mut http = None;
        let tls = options.driver.tls.is_some();
        options.http.tls = tls;
        check_proxy_settings(&options.http)?;
        check_direct_descriptors(&options.driver, &options.http)?;
        for t in &options.transports {
            let (addr, wire, scheme) = match t {
                Transport::Tcp(a) => (*a, Wire::Lines, if tls { "tls" } else { "tcp" }),
                Transport::Http(a) => (*a, Wire::Http, if tls { "https" } else { "http" }),
                Transport::Stdio => continue,
            };
            let listening =
                crate::transport::tcp::someone_listens(addr).map_err(|source| ServeError::Io {
                    what: "checking the listen address",
                    source,
                })?;
            // In a cluster the sessions live in Redis, so a second process on the port (a node
            // restarted in place) serves them as well as the first.
            if listening && !options.share_port && options.cluster.is_none() {
                return Err(ServeError::AddressInUse(addr));
            }
            let (fds, bound) = crate::transport::tcp::bind_reuseport(
                addr,
                cpus.len(),
                options.backlog,
                options.socket_send_buffer,
            )
            .map_err(|source| ServeError::Io {
                what: "binding a listener",
                source,
            })?;
            for (shard, fd) in fds.into_iter().enumerate() {
                per_shard[shard].push((fd, wire));
            }
            let path = if wire == Wire::Http {
                options.http.endpoint.as_str()
            } else {
                ""
            };
            tracing::info!(shards = cpus.len(), "listening on {scheme}://{bound}{path}");
            eprintln!(
                "ringmcp: listening on {scheme}://{bound}{path} ({} shards)",
                cpus.len()
            );
            if wire == Wire::Http {
                options.http.bound = bound;
                if options.http.auth.enabled() {
                    let scheme = if tls { "https" } else { "http" };
                    let default_resource = format!("{scheme}://{bound}{}", options.http.endpoint);
                    let auth = Authenticator::new(&options.http.auth, &default_resource)
                        .map_err(|e| ServeError::Config(e.to_string()))?;
                    tracing::info!(
                        resource = auth.resource(),
                        metadata = auth.metadata_url(),
                        "bearer-token authorization on"
                    );
                    options.http.authenticator = Some(Arc::new(auth));
                }
                http = Some(Box::new(options.http.clone()));
            }
        }
        Listen::Sockets { per_shard, http }
    };
    let config = RuntimeConfig {
        cpus,
        limits: options.limits,
        driver: options.driver,
        spin_before_park: options.spin_before_park,
        io_memory: options.io_memory,
        keys: options.keys,
        cluster: options.cluster.map(ClusterPlan::new).transpose()?,
        drain: options.drain,
    };
    runtime::run(config, registry, listen, sigfd)
}

/// A direct descriptor has no process fd, so the peer's address cannot be read (before Linux
/// 6.19): a proxy could not be recognised as trusted, and the per-address rate limit would have
/// no address to key on. Both are refused rather than silently not applied.
fn check_direct_descriptors(driver: &DriverConfig, http: &HttpConfig) -> Result<(), ServeError> {
    if !driver.direct_descriptors {
        return Ok(());
    }
    if !http.trusted_proxies.is_empty() || http.proxy_protocol {
        return Err(ServeError::Config(
            "--direct-descriptors cannot be combined with --trusted-proxy or --proxy-protocol: \
             a direct descriptor's peer address is unknown"
                .into(),
        ));
    }
    if http.rate_limit_rps > 0.0 {
        return Err(ServeError::Config(
            "--direct-descriptors cannot be combined with --rate-limit-rps: the HTTP limit is \
             per client address, which a direct descriptor does not tell"
                .into(),
        ));
    }
    Ok(())
}

/// A PROXY header comes before any TLS record, which the net ring would take for the handshake,
/// and with nobody trusted every connection would be refused: both are configuration mistakes.
fn check_proxy_settings(http: &HttpConfig) -> Result<(), ServeError> {
    if !http.proxy_protocol {
        return Ok(());
    }
    if http.trusted_proxies.is_empty() {
        return Err(ServeError::Config(
            "--proxy-protocol needs --trusted-proxy (the addresses the PROXY headers come from)"
                .into(),
        ));
    }
    if http.tls {
        return Err(ServeError::Config(
            "--proxy-protocol cannot be combined with --tls-cert: end TLS at the proxy".into(),
        ));
    }
    Ok(())
}
