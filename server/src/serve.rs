//! [`serve`]: the one call that runs a registry on a transport with default settings.

use crate::netring::DriverConfig;
use crate::runtime::{self, Listen, RuntimeConfig, ServeError};
use crate::sdk::Registry;
use crate::service::Limits;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Where to serve.
#[derive(Debug, Clone)]
pub enum Transport {
    /// One session on stdin/stdout.
    Stdio,
    /// Newline-delimited JSON-RPC over TCP.
    Tcp(SocketAddr),
}

/// Everything [`serve`] needs besides the registry.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Where to listen.
    pub transport: Transport,
    /// Shards (cores); 0 = every available core.
    pub cores: usize,
    /// Protocol limits.
    pub limits: Limits,
    /// Net loop tunables.
    pub driver: DriverConfig,
    /// listen(2) backlog.
    pub backlog: i32,
    /// Executor spin before parking.
    pub spin_before_park: Duration,
    /// glommio registered I/O memory per executor.
    pub io_memory: usize,
}

impl ServeOptions {
    /// Defaults for a transport.
    pub fn new(transport: Transport) -> Self {
        ServeOptions {
            transport,
            cores: 0,
            limits: Limits::default(),
            driver: DriverConfig::default(),
            backlog: 4096,
            spin_before_park: Duration::ZERO,
            io_memory: 256 << 10,
        }
    }
}

/// Serve `registry` until SIGINT/SIGTERM (or, on stdio, end of input).
pub fn serve(registry: Registry, options: ServeOptions) -> Result<(), ServeError> {
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
    let listen = match options.transport {
        Transport::Stdio => Listen::Stdio,
        Transport::Tcp(addr) => {
            let (fds, bound) =
                crate::transport::tcp::bind_reuseport(addr, cpus.len(), options.backlog).map_err(
                    |source| ServeError::Io {
                        what: "binding the TCP listener",
                        source,
                    },
                )?;
            tracing::info!(shards = cpus.len(), "listening on tcp://{bound}");
            eprintln!(
                "ringmcp: listening on tcp://{bound} ({} shards)",
                cpus.len()
            );
            Listen::Tcp(fds)
        }
    };
    let config = RuntimeConfig {
        cpus,
        limits: options.limits,
        driver: options.driver,
        spin_before_park: options.spin_before_park,
        io_memory: options.io_memory,
    };
    runtime::run(config, Arc::new(registry), listen)
}
