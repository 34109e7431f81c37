//! Starting and stopping the shards: one glommio executor per core, pinned; each owns a net ring
//! with its connections and sessions; a channel mesh joins them for broadcasts. The main thread
//! only waits for SIGINT/SIGTERM (through a signalfd) or for the shards to finish.

use crate::http::{HttpConfig, HttpService};
use crate::mesh::{Mesh, MeshMsg};
use crate::metrics::ShardMetrics;
use crate::netring::{DriverConfig, NetDriver, Source, Wire};
use crate::sdk::Registry;
use crate::service::{Limits, McpService, ShardCtx, ShardSignal};
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{LocalExecutorBuilder, Placement};
use ringmcp_proto::seal::KeyRing;
use std::io;
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A system call failed while starting.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The OS error.
        source: io::Error,
    },
    /// An executor could not be started.
    #[error("starting shard {shard}: {reason}")]
    Executor {
        /// Shard index.
        shard: usize,
        /// What glommio said.
        reason: String,
    },
    /// The configuration cannot be served.
    #[error("{0}")]
    Config(String),
    /// A shard failed while running.
    #[error("shard {shard} failed: {reason}")]
    Shard {
        /// Shard index.
        shard: usize,
        /// What went wrong.
        reason: String,
    },
}

fn io_err(what: &'static str) -> impl FnOnce(io::Error) -> ServeError {
    move |source| ServeError::Io { what, source }
}

/// How to run the shards.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// CPUs to pin one shard each to.
    pub cpus: Vec<usize>,
    /// Protocol limits.
    pub limits: Limits,
    /// Net loop tunables.
    pub driver: DriverConfig,
    /// Executor spin before parking (0 = park at once).
    pub spin_before_park: Duration,
    /// glommio's registered I/O memory per executor (kept small: locked memory is scarce).
    pub io_memory: usize,
    /// The keys that seal cursors and `requestState`; `None`: a random one for this process.
    pub keys: Option<KeyRing>,
}

/// What the shards serve.
pub enum Listen {
    /// Listening sockets: for each shard, its own listeners (SO_REUSEPORT) and what they speak.
    Sockets {
        /// Listeners per shard.
        per_shard: Vec<Vec<(RawFd, Wire)>>,
        /// HTTP settings, when an HTTP listener is among them.
        http: Option<Box<HttpConfig>>,
    },
    /// stdin/stdout, one shard.
    Stdio,
}

fn eventfd() -> Result<RawFd, ServeError> {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io_err("eventfd")(io::Error::last_os_error()));
    }
    Ok(fd)
}

/// Block SIGINT and SIGTERM in this thread (and so in every thread it starts) and return a
/// signalfd that reads them.
fn signal_fd() -> Result<RawFd, ServeError> {
    // SAFETY: sigset manipulation on a local, then pthread_sigmask/signalfd syscalls.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(io_err("blocking signals")(io::Error::last_os_error()));
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC);
        if fd < 0 {
            return Err(io_err("signalfd")(io::Error::last_os_error()));
        }
        Ok(fd)
    }
}

/// Run the shards until a signal (or, for stdio, end of input). Returns when every shard is done.
pub fn run(
    config: RuntimeConfig,
    registry: Arc<Registry>,
    listen: Listen,
) -> Result<(), ServeError> {
    let sigfd = signal_fd()?;
    let done_fd = eventfd()?;
    let stop = Arc::new(AtomicBool::new(false));
    let keys = match config.keys.clone() {
        Some(keys) => keys,
        None => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| io_err("getrandom")(io::Error::other(e.to_string())))?;
            KeyRing::single(&secret).map_err(|e| ServeError::Config(e.to_string()))?
        }
    };
    let (sources, cpus, http): (Vec<Source>, Vec<usize>, Option<HttpConfig>) = match listen {
        Listen::Stdio => {
            let (input, output) = crate::transport::stdio::fds();
            (
                vec![Source::Stdio { input, output }],
                config.cpus.iter().take(1).copied().collect(),
                None,
            )
        }
        Listen::Sockets { per_shard, http } => {
            let n = per_shard.len();
            (
                per_shard.into_iter().map(Source::Listeners).collect(),
                config.cpus.iter().take(n).copied().collect(),
                http.map(|h| *h),
            )
        }
    };
    let shards = sources.len();
    let mesh = (shards > 1).then(|| MeshBuilder::<MeshMsg, _>::full(shards, 1024));
    let mut wake_fds = Vec::new();
    let mut handles = Vec::new();
    for (shard, (source, cpu)) in sources.into_iter().zip(cpus.iter().copied()).enumerate() {
        let wake_fd = eventfd()?;
        wake_fds.push(wake_fd);
        let registry = registry.clone();
        let stop = stop.clone();
        let limits = config.limits.clone();
        let driver_cfg = config.driver.clone();
        let mesh = mesh.clone();
        let http = http.clone();
        let keys = keys.clone();
        let handle = LocalExecutorBuilder::new(Placement::Fixed(cpu))
            .name(&format!("ringmcp-shard-{shard}"))
            .io_memory(config.io_memory)
            .spin_before_park(config.spin_before_park)
            .spawn(move || async move {
                let result = shard_main(
                    shard, registry, limits, driver_cfg, http, source, wake_fd, stop, mesh, keys,
                )
                .await;
                let one: u64 = 1;
                // SAFETY: 8-byte write to the done eventfd, owned by main for the process' life.
                unsafe { libc::write(done_fd, (&one as *const u64).cast(), 8) };
                result
            })
            .map_err(|e| ServeError::Executor {
                shard,
                reason: e.to_string(),
            })?;
        handles.push(handle);
    }
    wait_for_stop(sigfd, done_fd, shards, &stop, &wake_fds);
    let mut failure = None;
    for (shard, h) in handles.into_iter().enumerate() {
        match h.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                failure = Some(ServeError::Shard {
                    shard,
                    reason: e.to_string(),
                })
            }
            Err(e) => {
                failure = Some(ServeError::Shard {
                    shard,
                    reason: format!("{e:?}"),
                })
            }
        }
    }
    failure.map_or(Ok(()), Err)
}

fn wait_for_stop(
    sigfd: RawFd,
    done_fd: RawFd,
    shards: usize,
    stop: &AtomicBool,
    wake_fds: &[RawFd],
) {
    let mut finished = 0u64;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: sigfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: done_fd,
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: poll on two valid pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            continue;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let mut info = [0u8; 128];
            // SAFETY: reading one signalfd_siginfo (128 bytes) into a buffer of that size.
            unsafe { libc::read(sigfd, info.as_mut_ptr().cast(), info.len()) };
            tracing::info!("signal received: shutting down");
            stop.store(true, Ordering::Relaxed);
            for &fd in wake_fds {
                let one: u64 = 1;
                // SAFETY: 8-byte write to a shard's eventfd.
                unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
            }
        }
        if fds[1].revents & libc::POLLIN != 0 {
            let mut count = [0u8; 8];
            // SAFETY: reading the eventfd counter.
            unsafe { libc::read(done_fd, count.as_mut_ptr().cast(), 8) };
            finished += u64::from_ne_bytes(count);
            if finished >= shards as u64 {
                return;
            }
            // One shard ending (stdio EOF) ends the others too.
            stop.store(true, Ordering::Relaxed);
            for &fd in wake_fds {
                let one: u64 = 1;
                // SAFETY: as above.
                unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn shard_main(
    shard: usize,
    registry: Arc<Registry>,
    limits: Limits,
    driver_cfg: DriverConfig,
    http: Option<HttpConfig>,
    source: Source,
    wake_fd: RawFd,
    stop: Arc<AtomicBool>,
    mesh: Option<MeshBuilder<MeshMsg, glommio::channels::channel_mesh::Full>>,
    keys: KeyRing,
) -> io::Result<()> {
    let signal = Rc::new(ShardSignal::new(wake_fd));
    let ctx = Rc::new(ShardCtx::new(shard, signal));
    let joined = match mesh {
        Some(mesh) => {
            let (senders, receivers) = mesh
                .join()
                .await
                .map_err(|_| io::Error::other("joining the channel mesh failed"))?;
            ctx.set_mesh(Mesh::new(senders));
            Some(receivers)
        }
        None => None,
    };
    let service = Rc::new(McpService::new(registry, limits, ctx.clone(), keys));
    let http = http.map(|cfg| HttpService::new(service.clone(), cfg));
    if let Some(mut receivers) = joined {
        for (_, receiver) in receivers.streams() {
            let ctx = ctx.clone();
            let http = http.clone();
            glommio::spawn_local(async move {
                while let Some(msg) = receiver.recv().await {
                    ShardMetrics::add(&ctx.metrics.mesh_received, 1);
                    match msg {
                        MeshMsg::MetricsRequest { from, ticket } => {
                            if let Some(mesh) = ctx.mesh() {
                                mesh.send(
                                    from,
                                    MeshMsg::MetricsReply {
                                        ticket,
                                        snapshot: Box::new(ctx.snapshot()),
                                    },
                                );
                            }
                        }
                        MeshMsg::MetricsReply { ticket, snapshot } => {
                            ctx.metrics_reply(ticket, *snapshot)
                        }
                        MeshMsg::ResourceUpdated(uri) => ctx.deliver_resource_updated(&uri),
                        MeshMsg::Http(m) => match &http {
                            Some(h) => h.on_mesh(m),
                            None => tracing::debug!("HTTP mesh message on a shard without HTTP"),
                        },
                    }
                }
            })
            .detach();
        }
    }
    let driver = NetDriver::new(service, http, source, wake_fd, stop, driver_cfg)?;
    tracing::debug!(shard, "shard running");
    driver.run().await
}
