//! [`run_on_shards`]: start shards that serve nothing, each a pinned glommio executor with its
//! own net ring, run a caller's future on each, and stop them when the futures finish. The
//! futures get a [`Shard`], through which they dial MCP client connections
//! ([`ShardClient::connect`](super::ShardClient::connect)). This file owns the executors and
//! the drivers' lifetimes; it must not know MCP (that is the link's and the session's).

use super::conn::DialMcp;
use super::protocols::ClientProtocols;
use crate::metrics::ShardMetrics;
use crate::netring::{DriverConfig, EventFd, NetDriver, ShardIo, ShardSignal, Source};
use glommio::{LocalExecutorBuilder, Placement};
use std::future::Future;
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How to run client shards.
#[derive(Debug, Clone)]
pub struct ShardsOptions {
    /// CPUs to pin one shard each to.
    pub cpus: Vec<usize>,
    /// Net loop tunables (listener and HTTP settings do not apply).
    pub driver: DriverConfig,
    /// glommio's registered I/O memory per executor.
    pub io_memory: usize,
}

impl ShardsOptions {
    /// One shard on each of `cpus`, with the default net loop settings.
    pub fn new(cpus: Vec<usize>) -> Self {
        ShardsOptions {
            cpus,
            driver: DriverConfig::default(),
            io_memory: 256 << 10,
        }
    }
}

/// Why client shards could not run.
#[derive(Debug, thiserror::Error)]
pub enum ShardsError {
    /// No CPU was given.
    #[error("no CPU to run a shard on")]
    NoCpus,
    /// An executor could not be started.
    #[error("starting shard {shard}: {reason}")]
    Executor {
        /// Shard index.
        shard: usize,
        /// What glommio said.
        reason: String,
    },
    /// A shard's net ring failed (or could not be built).
    #[error("shard {shard}: {source}")]
    Ring {
        /// Shard index.
        shard: usize,
        /// The OS error.
        source: io::Error,
    },
    /// A shard's thread panicked.
    #[error("shard {shard} panicked")]
    Panicked {
        /// Shard index.
        shard: usize,
    },
}

/// The shard a future runs on, as [`run_on_shards`] hands it over: its index, and its net
/// ring's dialer. Only usable on that shard.
#[derive(Clone)]
pub struct Shard {
    id: usize,
    dialer: Rc<dyn DialMcp>,
}

impl std::fmt::Debug for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shard")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Shard {
    /// The shard's index (0-based, in the order of [`ShardsOptions::cpus`]).
    pub fn id(&self) -> usize {
        self.id
    }

    /// Shard `id`, dialing through `dialer` (its net ring's).
    pub(crate) fn on_ring(id: usize, dialer: Rc<dyn DialMcp>) -> Self {
        Shard { id, dialer }
    }

    pub(super) fn dialer(&self) -> &dyn DialMcp {
        &*self.dialer
    }

    pub(super) fn dialer_rc(&self) -> Rc<dyn DialMcp> {
        self.dialer.clone()
    }
}

/// Start one shard per CPU of `options`, run `f(shard)` on each, and return their outputs (in
/// shard order) once all have finished and every shard's connections are closed. A shard whose
/// future finishes stops its net ring: connections its clients left open are drained (requests
/// in flight get `DriverConfig::shutdown_grace`) and closed.
pub fn run_on_shards<F, Fut, T>(options: ShardsOptions, f: F) -> Result<Vec<T>, ShardsError>
where
    F: Fn(Shard) -> Fut + Send + Clone + 'static,
    Fut: Future<Output = T> + 'static,
    T: Send + 'static,
{
    if options.cpus.is_empty() {
        return Err(ShardsError::NoCpus);
    }
    let mut handles = Vec::with_capacity(options.cpus.len());
    for (shard, cpu) in options.cpus.iter().copied().enumerate() {
        let f = f.clone();
        let driver = options.driver.clone();
        let handle = LocalExecutorBuilder::new(Placement::Fixed(cpu))
            .name(&format!("ringmcp-client-{shard}"))
            .io_memory(options.io_memory)
            .spawn(move || async move { shard_main(shard, driver, f).await })
            .map_err(|e| ShardsError::Executor {
                shard,
                reason: e.to_string(),
            })?;
        handles.push(handle);
    }
    let mut outputs = Vec::with_capacity(handles.len());
    let mut failure = None;
    for (shard, handle) in handles.into_iter().enumerate() {
        match handle.join() {
            Ok(Ok(out)) => outputs.push(out),
            Ok(Err(source)) => failure = failure.or(Some(ShardsError::Ring { shard, source })),
            Err(_) => failure = failure.or(Some(ShardsError::Panicked { shard })),
        }
    }
    failure.map_or(Ok(outputs), Err)
}

/// One client shard: its ring, the caller's future, then the stop.
async fn shard_main<F, Fut, T>(id: usize, cfg: DriverConfig, f: F) -> io::Result<T>
where
    F: Fn(Shard) -> Fut,
    Fut: Future<Output = T>,
{
    let signal = Rc::new(ShardSignal::new(Arc::new(EventFd::new()?)));
    let stop = Arc::new(AtomicBool::new(false));
    let io = ShardIo {
        id,
        signal: signal.clone(),
        metrics: Rc::new(ShardMetrics::default()),
        stop: stop.clone(),
    };
    let driver = NetDriver::new(ClientProtocols, Source::Listeners(Vec::new()), io, cfg)?;
    let shard = Shard::on_ring(id, Rc::new(driver.dialer()));
    let running = glommio::spawn_local(driver.run());
    let out = f(shard).await;
    // The driver looks at the flag every turn, and before it sleeps; the doorbell wakes it if
    // it already sleeps.
    stop.store(true, Ordering::Relaxed);
    signal.ring();
    running.await?;
    Ok(out)
}
