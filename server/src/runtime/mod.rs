//! Starting and stopping the shards: one glommio executor per core, pinned; each owns a net ring
//! with its connections and sessions; a channel mesh joins them for broadcasts. The main thread
//! only waits for SIGINT/SIGTERM (through a signalfd) or for the shards to finish, and runs the
//! drain between the signal and the stop (`/ready` answers 503 on every shard meanwhile).

mod messages;
mod protocols;

pub(crate) use messages::MeshMsg;
pub(crate) use protocols::ShardProtocols;

use crate::client::Shard;
use crate::cluster::{ClusterPlan, JoinError, Lease};
use crate::engine::{Limits, McpService};
use crate::http::{HttpConfig, HttpPort, HttpService, SessionHome};
use crate::mesh::Mesh;
use crate::netring::{DriverConfig, EventFd, NetDriver, ShardIo, ShardSignal, Source, Wire};
use crate::sdk::LiveRegistry;
use crate::service::{Relay, ShardCtx};
use crate::store::{LocalSessions, MemoryOnceStore, OnceStore, TaskStore, DEFAULT_MAX_CLAIMS};
use glommio::channels::channel_mesh::MeshBuilder;
use glommio::{LocalExecutorBuilder, Placement};
use ringmcp_proto::seal::KeyRing;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Another process listens on an address this server was to listen on. Sharing it would let
    /// the kernel split new connections between two servers that know nothing of each other's
    /// sessions.
    #[error(
        "address in use: {0} (another process listens there; --share-port shares it on purpose)"
    )]
    AddressInUse(std::net::SocketAddr),
    /// The node could not join its cluster.
    #[error(transparent)]
    Cluster(#[from] JoinError),
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
pub(crate) struct RuntimeConfig {
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
    /// Cluster mode: where the shared state lives.
    pub cluster: Option<ClusterPlan>,
    /// Serving on after the first signal, not ready, before the stop (HTTP listeners only).
    pub drain: Duration,
}

/// What the shards serve.
pub(crate) enum Listen {
    /// Listening sockets: for each shard, its own listeners (SO_REUSEPORT) and what they speak.
    Sockets {
        /// Listeners per shard.
        per_shard: Vec<Vec<(OwnedFd, Wire)>>,
        /// HTTP settings, when an HTTP listener is among them.
        http: Option<Box<HttpConfig>>,
    },
    /// stdin/stdout, one shard.
    Stdio,
}

fn eventfd() -> Result<Arc<EventFd>, ServeError> {
    EventFd::new().map(Arc::new).map_err(io_err("eventfd"))
}

/// Block SIGINT and SIGTERM in this thread (and so in every thread it starts) and return a
/// signalfd that reads them.
/// Block SIGINT and SIGTERM and read them from a signalfd instead. Called before anything is
/// bound or announced, so that a signal sent as soon as the server says it listens stops it
/// gracefully rather than killing it. The fd lives as long as the process.
pub(crate) fn signal_fd() -> Result<RawFd, ServeError> {
    // SAFETY: the sigset is a live local, zeroed (a valid empty set) and filled by sigemptyset/
    // sigaddset; pthread_sigmask and signalfd only read it, and the null old-set pointer is allowed.
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
pub(crate) fn run(
    config: RuntimeConfig,
    registry: LiveRegistry,
    listen: Listen,
    sigfd: RawFd,
) -> Result<(), ServeError> {
    let done_fd = eventfd()?;
    let stop = Arc::new(AtomicBool::new(false));
    let draining = Arc::new(AtomicBool::new(false));
    let keys = match config.keys.clone() {
        Some(keys) => keys,
        None => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| io_err("getrandom")(io::Error::other(e.to_string())))?;
            KeyRing::single(&secret).map_err(|e| ServeError::Config(e.to_string()))?
        }
    };
    let lease = match &config.cluster {
        Some(plan) => {
            let lease = Lease::take(&plan.config, plan.addr)?;
            tracing::info!(node = %plan.config.node_id, redis = %plan.config.redis, "joined the cluster");
            Some(lease)
        }
        None => None,
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
    // Spent single-use request states, shared by this node's shards (Redis holds them instead
    // in a cluster).
    let once = MemoryOnceStore::new(DEFAULT_MAX_CLAIMS);
    let mesh = (shards > 1).then(|| MeshBuilder::<MeshMsg, _>::full(shards, 1024));
    let mut wake_fds = Vec::new();
    let mut handles = Vec::new();
    for (shard, (source, cpu)) in sources.into_iter().zip(cpus.iter().copied()).enumerate() {
        let wake_fd = eventfd()?;
        wake_fds.push(wake_fd.clone());
        let done_fd = done_fd.clone();
        let registry = registry.clone();
        let stop = stop.clone();
        let draining = draining.clone();
        let limits = config.limits.clone();
        let driver_cfg = config.driver.clone();
        let mesh = mesh.clone();
        let http = http.clone();
        let keys = keys.clone();
        let once = once.clone();
        // Every shard names the lease in the tasks it runs; shard 0 keeps it alive.
        let cluster = config
            .cluster
            .clone()
            .zip(lease.clone())
            .map(|(plan, lease)| (plan, lease, shard == 0));
        let handle = LocalExecutorBuilder::new(Placement::Fixed(cpu))
            .name(&format!("ringmcp-shard-{shard}"))
            .io_memory(config.io_memory)
            .spin_before_park(config.spin_before_park)
            .spawn(move || async move {
                let result = shard_main(
                    shard, registry, limits, driver_cfg, http, source, wake_fd, stop, draining,
                    mesh, keys, once, cluster,
                )
                .await;
                if let Err(e) = done_fd.signal() {
                    tracing::error!(shard, error = %e, "could not tell main the shard ended");
                }
                result
            })
            .map_err(|e| ServeError::Executor {
                shard,
                reason: e.to_string(),
            })?;
        handles.push(handle);
    }
    // Only an HTTP listener has a /ready for a load balancer to watch.
    let drain = if http.is_some() {
        config.drain
    } else {
        Duration::ZERO
    };
    let flags = StopFlags {
        stop: &stop,
        draining: &draining,
        drain,
    };
    wait_for_stop(sigfd, &done_fd, shards, &flags, &wake_fds);
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
    if let (Some(lease), Some(plan)) = (lease, &config.cluster) {
        lease.release(&plan.config, plan.addr);
    }
    failure.map_or(Ok(()), Err)
}

/// Wake every shard's net loop so that it sees `stop`.
fn wake_all(wake_fds: &[Arc<EventFd>]) {
    for fd in wake_fds {
        if let Err(e) = fd.signal() {
            tracing::warn!(error = %e, "could not wake a shard");
        }
    }
}

/// What the main thread sets to end the shards.
struct StopFlags<'a> {
    /// The shards stop: no new connections, in-flight requests finish.
    stop: &'a AtomicBool,
    /// `/ready` answers 503 while everything else is served as usual.
    draining: &'a AtomicBool,
    /// How long the drain lasts before the stop (zero: no drain).
    drain: Duration,
}

/// Wait for the shards to finish. The first signal starts the drain (or, without one, the stop);
/// the drain's end or a second signal stops.
fn wait_for_stop(
    sigfd: RawFd,
    done_fd: &EventFd,
    shards: usize,
    flags: &StopFlags<'_>,
    wake_fds: &[Arc<EventFd>],
) {
    let stop_now = || {
        flags.stop.store(true, Ordering::Relaxed);
        wake_all(wake_fds);
    };
    let mut finished = 0u64;
    let mut drain_until: Option<Instant> = None;
    loop {
        let mut fds = [
            libc::pollfd {
                fd: sigfd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: done_fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let timeout_ms = drain_until.map_or(-1, |until| {
            let left = until.saturating_duration_since(Instant::now());
            // Rounded up, so that the wake-up is not a moment early.
            i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
        });
        // SAFETY: `fds` is a live local array of exactly the 2 pollfds passed; both fds stay open
        // (the signalfd for the process's life, the eventfd borrowed from the caller).
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, timeout_ms) };
        if n < 0 {
            continue;
        }
        if drain_until.is_some_and(|until| Instant::now() >= until) {
            tracing::info!("drain over: stopping");
            drain_until = None;
            stop_now();
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let mut info = [0u8; 128];
            // SAFETY: the destination is a live local buffer of exactly the 128 bytes read (one
            // signalfd_siginfo); the signalfd stays open for the process's life.
            unsafe { libc::read(sigfd, info.as_mut_ptr().cast(), info.len()) };
            let stopping = flags.stop.load(Ordering::Relaxed);
            if drain_until.is_some() {
                tracing::info!("second signal during the drain: stopping now");
                drain_until = None;
                stop_now();
            } else if !stopping && !flags.drain.is_zero() {
                tracing::info!(
                    drain_ms = flags.drain.as_millis() as u64,
                    "signal received: draining (/ready answers 503), then stopping"
                );
                flags.draining.store(true, Ordering::Relaxed);
                drain_until = Some(Instant::now() + flags.drain);
            } else {
                tracing::info!("signal received: shutting down");
                stop_now();
            }
        }
        if fds[1].revents & libc::POLLIN != 0 {
            match done_fd.read() {
                Ok(n) => finished += n,
                Err(e) => tracing::warn!(error = %e, "reading the shards' done counter failed"),
            }
            if finished >= shards as u64 {
                return;
            }
            // One shard ending (stdio EOF) ends the others too.
            drain_until = None;
            stop_now();
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn shard_main(
    shard: usize,
    registry: LiveRegistry,
    limits: Limits,
    driver_cfg: DriverConfig,
    http: Option<HttpConfig>,
    source: Source,
    wake_fd: Arc<EventFd>,
    stop: Arc<AtomicBool>,
    draining: Arc<AtomicBool>,
    mesh: Option<MeshBuilder<MeshMsg, glommio::channels::channel_mesh::Full>>,
    keys: KeyRing,
    once: MemoryOnceStore,
    cluster: Option<(ClusterPlan, Lease, bool)>,
) -> io::Result<()> {
    let signal = Rc::new(ShardSignal::new(wake_fd));
    let ctx = Rc::new(ShardCtx::new(shard, signal));
    let joined = match mesh {
        Some(mesh) => {
            let (senders, receivers) = mesh
                .join()
                .await
                .map_err(|_| io::Error::other("joining the channel mesh failed"))?;
            Some((Mesh::new(senders), receivers))
        }
        None => None,
    };
    if let Some((mesh, _)) = &joined {
        ctx.set_mesh(mesh.clone());
    }
    let session_ttl = http
        .as_ref()
        .map_or(Duration::from_secs(600), |cfg| cfg.session_idle);
    let cluster = cluster.map(|(plan, lease, keeps)| {
        let node: Rc<str> = Rc::from(plan.config.node_id.as_str());
        let parts = plan.shard(shard, session_ttl, &lease);
        (parts, keeps.then_some(lease), node)
    });
    let once: Rc<dyn OnceStore> = match &cluster {
        Some((c, _, _)) => c.once.clone(),
        None => Rc::new(once),
    };
    let mut service =
        McpService::following(registry, limits, ctx.clone(), keys).with_once_store(once);
    if let Some((c, _, node)) = &cluster {
        // Tasks in Redis, their ids naming this node.
        let tasks: Rc<dyn TaskStore> = c.tasks.clone();
        service = service.with_task_store(tasks, Some(node.clone()));
    }
    let service = Rc::new(service);
    // A live registry: this shard swaps its copy when the set changes.
    service.follow_registry();
    let http_port = joined.as_ref().map(|(mesh, _)| {
        let port: HttpPort = mesh.clone();
        port
    });
    let home = match &cluster {
        Some((c, _, node)) => {
            // Notices published here go through the log, which every shard of every node hears
            // (this one included); one the log cannot take is delivered on this node alone.
            ctx.set_notice_log(c.notices.clone());
            let weak = Rc::downgrade(&ctx);
            c.bus.on_notice(move |notice, pos| {
                if let Some(ctx) = weak.upgrade() {
                    ctx.deliver_logged(notice, pos);
                }
            });
            let weak = Rc::downgrade(&ctx);
            c.notices.on_unlogged(move |notice| {
                if let Some(ctx) = weak.upgrade() {
                    ctx.publish_unlogged(notice);
                }
            });
            let relay: Rc<dyn Relay> = c.bus.clone();
            SessionHome {
                store: c.sessions.clone(),
                node: Some(node.clone()),
                relay: Some(relay),
                log: Some(c.notices.clone()),
            }
        }
        None => SessionHome {
            store: Rc::new(LocalSessions),
            node: None,
            relay: None,
            log: None,
        },
    };
    let http = http.map(|cfg| HttpService::new(service.clone(), cfg, http_port, home, draining));
    if let (Some((c, _, _)), Some(http)) = (&cluster, &http) {
        let weak = Rc::downgrade(http);
        c.bus.on_answer(move |session, id, answer| {
            if let Some(http) = weak.upgrade() {
                http.relayed_answer(session, id, answer);
            }
        });
        let weak = Rc::downgrade(http);
        c.bus.on_cancel(move |session, id| {
            if let Some(http) = weak.upgrade() {
                http.relayed_cancel(session, id);
            }
        });
        let weak = Rc::downgrade(http);
        c.bus.on_post(move |session, principal, body| {
            if let Some(http) = weak.upgrade() {
                http.relayed_post(session, principal, body);
            }
        });
    }
    if let Some((_, receivers)) = joined {
        messages::route(receivers, &ctx, http.as_ref());
    }
    let io = ShardIo {
        id: shard,
        signal: ctx.signal.clone(),
        metrics: ctx.metrics.clone(),
        stop,
    };
    let link = cluster.as_ref().map(|(c, _, _)| c.link.clone());
    let dials = matches!(source, Source::Listeners(_));
    let driver = NetDriver::new(
        ShardProtocols::new(service, http, link),
        source,
        io,
        driver_cfg,
    )?;
    if dials {
        ctx.set_client_shard(Shard::on_ring(shard, Rc::new(driver.dialer())));
    }
    if let Some((c, lease, _)) = &cluster {
        c.link.start(driver.dialer());
        if let Some(lease) = lease {
            lease.keep(&c.link);
        }
    }
    tracing::debug!(shard, "shard running");
    driver.run().await
}
