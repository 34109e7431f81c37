//! [`NetDriver`]: the event loop of one shard's net ring.
//!
//! Each turn: one `io_uring_enter` submits what the last turn queued and posts what completed
//! (skipped when the ring flags neither), then reap completions (accepts, connects, received
//! bytes, finished sends), hand received bytes to the connections' protocols, let the tasks they
//! spawned run, start the connects they asked for, and turn every dirty outbox into one send per
//! connection. When a turn leaves nothing queued and nothing to do, the loop sleeps on the ring's
//! eventfd, read through glommio, so timers and channels keep running: a request that arrives
//! alone costs that sleep, the entry that posts it and the entry that sends its answer. This file holds the loop and
//! the driver's state; the operations, the connections, the listeners, the dials and the draining
//! each have their own module. It knows protocols only through [`Protocols`].

use super::bufring::BufRing;
use super::conn::{Conn, Kind};
use super::connect::Connecting;
use super::dial::{DialInbox, DialRequest, Dialer};
use super::listener::Listener;
use super::op::{self, Op};
use super::outbox::{ConnRef, ShardSignal};
use super::protocol::{Protocols, Wire};
use super::sys;
use crate::metrics::ShardMetrics;
use glommio::io::BufferedFile;
use io_uring::IoUring;
use rustls::ServerConfig;
use slab::Slab;
use std::cell::Cell;
use std::io;
use std::os::fd::{AsFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a shard's connections come from.
pub(crate) enum Source {
    /// Listening sockets (already bound and listening) to accept from, with what they speak. The
    /// driver owns them and closes them when the shard stops.
    Listeners(Vec<(OwnedFd, Wire)>),
    /// One session on a pair of pipes or files (stdin, stdout), left open.
    Stdio {
        /// Read side.
        input: RawFd,
        /// Write side.
        output: RawFd,
    },
}

/// What the driver shares with the rest of its shard.
pub(crate) struct ShardIo {
    /// Shard index (for logs).
    pub id: usize,
    /// Dirty outboxes and the eventfd the loop sleeps on.
    pub signal: Rc<ShardSignal>,
    /// The shard's counters (connections, bytes).
    pub metrics: Rc<ShardMetrics>,
    /// Set by the main thread to stop the shard.
    pub stop: Arc<AtomicBool>,
}

/// Tunables of the net loop.
#[derive(Debug, Clone)]
pub struct DriverConfig {
    /// Submission queue entries.
    pub ring_entries: u32,
    /// Completion queue entries (at least `ring_entries`). A turn that completes more operations
    /// than this (a notification fanned out to more listeners, say) overflows the queue: the
    /// kernel keeps the overflow and ends multishot receives and accepts, which are re-armed, so
    /// nothing is lost, but it costs a round of re-arming.
    pub cq_entries: u32,
    /// Provided buffers (a power of two).
    pub recv_buffers: u16,
    /// Bytes per provided buffer.
    pub recv_buffer_size: usize,
    /// Incremental provided buffers (Linux 6.12; dropped with a log line on older kernels): a
    /// receive takes only the bytes it needs from a buffer, so small messages share buffers and
    /// large buffers cost nothing for them.
    pub recv_incremental: bool,
    /// Bytes one multishot recv takes before it is armed again (0: no cap). Bounds what a
    /// connection receives after its input is paused (the cancel lands a turn later) and what one
    /// connection takes in a turn. Needs Linux 6.17; on older kernels it is dropped at the first
    /// recv.
    pub recv_cap_bytes: u32,
    /// Connections this shard holds at most; more are closed on accept.
    pub max_connections: usize,
    /// Accept sockets as registered (direct) descriptors: slots of the ring's own table (as
    /// many as `max_connections`, within the process's open-file limit) that every operation
    /// names without a file lookup. They have no process fd, so the peer's address is unknown
    /// (per-address limits do not apply, a PROXY header cannot be trusted). Dialed connections
    /// keep their fds.
    pub direct_descriptors: bool,
    /// Bytes queued for one connection before it is dropped. Answers stay far below it (input
    /// pauses at `pause_unsent_bytes`); what can reach it is output nobody asked for, such as
    /// notifications to a client that does not read.
    pub max_queued_bytes: usize,
    /// Unsent output past which a connection's input is paused until it drains to half
    /// (back-pressure on a client that writes faster than it reads).
    pub pause_unsent_bytes: usize,
    /// A connection with output to send and no byte sent for this long is dropped.
    pub write_stall_timeout: Duration,
    /// How long a connection closed after an answer keeps reading (and discarding) what its peer
    /// still sends, so that the peer reads the answer (0: close at once).
    pub linger: Duration,
    /// Bytes a lingering connection discards at most before it closes.
    pub linger_bytes: usize,
    /// How long in-flight requests get to finish on shutdown or EOF.
    pub shutdown_grace: Duration,
    /// Back-off before accepting again after EMFILE/ENFILE.
    pub accept_backoff: Duration,
    /// An HTTP request whose head or body is still incomplete after this gets 408 (slow clients).
    pub http_request_timeout: Duration,
    /// An HTTP connection with nothing in flight is closed after this long without a byte.
    pub http_idle_timeout: Duration,
    /// TLS for every network listener (`None`: plaintext).
    pub tls: Option<Arc<ServerConfig>>,
    /// A TLS handshake not finished after this long is dropped.
    pub tls_handshake_timeout: Duration,
    /// Submission polling (`IORING_SETUP_SQPOLL`): a kernel thread per shard takes SQEs off the
    /// ring as they are queued and spins this long without work before it sleeps (`None`: no
    /// polling thread; the shard submits with one `io_uring_enter` per turn and the kernel posts
    /// completions only when asked, `DEFER_TASKRUN`). The two set-ups cannot be combined.
    pub sqpoll_idle: Option<Duration>,
    /// The CPU the polling thread is bound to (`None`: the scheduler's choice).
    pub sqpoll_cpu: Option<u32>,
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            ring_entries: 1024,
            cq_entries: 16384,
            recv_buffers: 512,
            recv_buffer_size: 4096,
            recv_incremental: false,
            recv_cap_bytes: 16 * 1024,
            max_connections: 200_000,
            direct_descriptors: false,
            max_queued_bytes: 16 << 20,
            pause_unsent_bytes: 256 << 10,
            write_stall_timeout: Duration::from_secs(60),
            linger: Duration::from_secs(5),
            linger_bytes: 64 << 20,
            shutdown_grace: Duration::from_secs(5),
            accept_backoff: Duration::from_millis(100),
            http_request_timeout: Duration::from_secs(10),
            http_idle_timeout: Duration::from_secs(300),
            tls: None,
            tls_handshake_timeout: Duration::from_secs(10),
            sqpoll_idle: None,
            sqpoll_cpu: None,
        }
    }
}

/// One shard's ring: single issuer, completion queue sized for fan-outs; with a polling thread
/// when configured, else with deferred task work and the flag that lets a turn skip its entry.
fn build_ring(cfg: &DriverConfig) -> io::Result<IoUring> {
    let mut builder = IoUring::builder();
    builder
        .setup_single_issuer()
        .setup_cqsize(cfg.cq_entries.max(cfg.ring_entries))
        .setup_clamp();
    match cfg.sqpoll_idle {
        Some(idle) => {
            builder.setup_sqpoll(u32::try_from(idle.as_millis()).unwrap_or(u32::MAX));
            if let Some(cpu) = cfg.sqpoll_cpu {
                builder.setup_sqpoll_cpu(cpu);
            }
        }
        None => {
            builder
                .setup_defer_taskrun()
                // The kernel flags pending completions in the SQ ring, so a turn with nothing
                // to submit and nothing pending skips its `io_uring_enter`.
                .setup_taskrun_flag();
        }
    }
    builder.build(cfg.ring_entries)
}

/// The net loop of one shard.
pub(crate) struct NetDriver<P: Protocols> {
    // Dropped before `bufs`: the kernel must let go of the buffer ring before it is unmapped.
    pub(super) ring: IoUring,
    pub(super) bufs: BufRing,
    pub(super) conns: Slab<Conn<P::Conn>>,
    pub(super) next_gen: u32,
    pub(super) listeners: Vec<Listener>,
    /// Dials asked for by the shard's tasks, not yet started.
    pub(super) dials: DialInbox<P::Dial>,
    /// Kept between turns so taking the queued dials allocates nothing.
    pub(super) dial_requests: Vec<DialRequest<P::Dial>>,
    /// Sockets whose connect is in flight (after `ring`: dropped once the kernel let go of them).
    pub(super) connecting: Slab<Connecting<P::Dial>>,
    pub(super) protocols: P,
    pub(super) shard: usize,
    pub(super) signal: Rc<ShardSignal>,
    pub(super) metrics: Rc<ShardMetrics>,
    pub(super) cfg: DriverConfig,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) stopping_since: Option<Instant>,
    pub(super) stdio: bool,
    pub(super) dirty: Vec<ConnRef>,
    pub(super) closed: Vec<usize>,
    /// Connections finishing (EOF seen, or shutdown): slab key and generation.
    pub(super) draining: Vec<(usize, u32)>,
    /// The multishot recv cap in use (`DriverConfig::recv_cap_bytes`, or 0 once the kernel
    /// refused it).
    pub(super) recv_cap: u32,
    pub(super) next_sweep: Instant,
    /// The clock read of this turn (one per turn, not per completion).
    pub(super) now: Instant,
    pub(super) tick_armed: Rc<Cell<bool>>,
    /// Per-shard TLS configurations (own session cache each): line listeners, HTTP listeners.
    pub(super) tls_lines: Option<Arc<ServerConfig>>,
    pub(super) tls_http: Option<Arc<ServerConfig>>,
    /// TLS connections still handshaking: slab key, generation, deadline.
    pub(super) handshakes: Vec<(usize, u32, Instant)>,
    /// Plaintext taken from an outbox on its way into a TLS layer.
    pub(super) seal_buf: Vec<u8>,
    /// The ring was set up with a submission polling thread (`DriverConfig::sqpoll_idle`).
    pub(super) sqpoll: bool,
}

impl<P: Protocols> NetDriver<P> {
    /// Build the ring for one shard. Must run on the shard's own thread (the ring is single-issuer).
    pub(crate) fn new(
        protocols: P,
        source: Source,
        shard: ShardIo,
        cfg: DriverConfig,
    ) -> io::Result<Self> {
        let ring = build_ring(&cfg)?;
        ring.submitter()
            .register_eventfd(std::os::fd::AsRawFd::as_raw_fd(shard.signal.doorbell()))?;
        if cfg.direct_descriptors {
            let slots = cfg.max_connections.min(sys::open_file_limit()).max(1);
            ring.submitter()
                .register_files_sparse(u32::try_from(slots).unwrap_or(u32::MAX))?;
        }
        // SAFETY: `ring` is declared before `bufs` in `NetDriver`, so it is dropped first.
        let bufs = unsafe {
            BufRing::new(
                &ring,
                cfg.recv_buffers,
                cfg.recv_buffer_size,
                0,
                cfg.recv_incremental,
            )?
        };
        let tls_lines = cfg
            .tls
            .as_deref()
            .map(|c| crate::transport::tls::per_shard(c, false));
        let tls_http = cfg
            .tls
            .as_deref()
            .map(|c| crate::transport::tls::per_shard(c, true));
        let mut driver = NetDriver {
            ring,
            bufs,
            conns: Slab::new(),
            next_gen: 0,
            listeners: Vec::new(),
            dials: DialInbox::new(shard.signal.clone()),
            dial_requests: Vec::new(),
            connecting: Slab::new(),
            protocols,
            shard: shard.id,
            signal: shard.signal,
            metrics: shard.metrics,
            recv_cap: cfg.recv_cap_bytes,
            sqpoll: cfg.sqpoll_idle.is_some(),
            cfg,
            stop: shard.stop,
            stopping_since: None,
            stdio: false,
            dirty: Vec::new(),
            closed: Vec::new(),
            draining: Vec::new(),
            next_sweep: Instant::now(),
            now: Instant::now(),
            tick_armed: Rc::new(Cell::new(false)),
            tls_lines,
            tls_http,
            handshakes: Vec::new(),
            seal_buf: Vec::new(),
        };
        match source {
            Source::Listeners(fds) => {
                driver.listeners = fds
                    .into_iter()
                    .map(|(fd, wire)| {
                        if driver.cfg.direct_descriptors {
                            // Accepted sockets inherit it: a direct descriptor has no fd to set
                            // it on.
                            sys::set_nodelay(fd.as_fd());
                        }
                        Listener::new(fd, wire)
                    })
                    .collect();
                for i in 0..driver.listeners.len() {
                    driver.arm_accept(i);
                }
            }
            Source::Stdio { input, output } => {
                driver.stdio = true;
                let kind = Kind::Pipe {
                    input,
                    output,
                    read_buf: vec![0u8; 64 * 1024].into_boxed_slice(),
                };
                let key = driver.open_conn(kind, Wire::Lines);
                driver.arm_read(key);
            }
        }
        Ok(driver)
    }

    /// A handle for the shard's tasks to open outbound connections on this ring. Dials made after
    /// the driver is gone fail at once.
    pub(crate) fn dialer(&self) -> Dialer<P::Dial> {
        self.dials.dialer()
    }

    /// Run until stopped (signal) or, for stdio, until the input ends.
    pub(crate) async fn run(mut self) -> io::Result<()> {
        let dup = self.signal.doorbell().duplicate()?;
        // SAFETY: `dup` is a fresh fd that nothing else owns; glommio's file takes it over and
        // closes it.
        let wake = unsafe { BufferedFile::from_raw_fd(dup.into_raw_fd()) };
        let signal = self.signal.clone();
        // After a sleep the kernel has work to post (that is what woke us): enter regardless of
        // the flag.
        let mut woke = true;
        loop {
            // At most one kernel entry per turn: it submits what the last turn queued and posts
            // what completed meanwhile; skipped when there is neither.
            if self.sqpoll {
                // The polling thread submits; a system call only wakes it, or flushes an
                // overflowed completion queue.
                if op::sqpoll_has_work(&mut self.ring) {
                    self.ring.submit()?;
                }
            } else if woke || op::has_work(&mut self.ring) {
                op::enter(&mut self.ring)?;
            }
            woke = false;
            let reaped = self.reap();
            if reaped > 0 {
                // Let the handler tasks spawned for these frames run before flushing.
                futures_lite::future::yield_now().await;
            }
            self.serve_dials();
            self.flush();
            self.maintain();
            if self.finished() {
                break;
            }
            if self.idle() {
                signal.set_sleeping(true);
                // Looked at again once the doorbell is armed: a mark made before rang nothing.
                // Kernel work arriving from now on rings the eventfd, so the read returns.
                if self.idle() && !self.stop_requested() {
                    if let Err(e) = wake.read_at(0, 8).await {
                        tracing::warn!(error = %e, "eventfd read failed");
                    }
                    woke = true;
                }
                signal.set_sleeping(false);
            } else {
                glommio::yield_if_needed().await;
            }
        }
        let _ = wake.close().await;
        Ok(())
    }

    /// Nothing to submit, reap, send or dial: the loop may sleep until the eventfd rings. With a
    /// polling thread, SQEs it has not taken yet do not keep the loop awake: the thread was woken
    /// if it slept, and what they complete rings the eventfd. (Spinning on them instead starves
    /// the thread when it shares the shard's CPU.)
    fn idle(&mut self) -> bool {
        (self.sqpoll || self.ring.submission().is_empty())
            && self.ring.completion().is_empty()
            && !self.signal.has_dirty()
            && !self.dials.has_work()
    }

    pub(super) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn reap(&mut self) -> usize {
        let mut n = 0;
        let mut returned = false;
        // One clock read per turn, not per completion: idle and stall timeouts have second
        // granularity.
        let now = Instant::now();
        self.now = now;
        loop {
            let cqe = match self.ring.completion().next() {
                Some(c) => c,
                None => break,
            };
            n += 1;
            let (op, key) = op::split(cqe.user_data());
            match op {
                Some(Op::Accept) => self.on_accept(key, cqe.result(), cqe.flags()),
                Some(Op::Recv) => returned |= self.on_recv(key, cqe.result(), cqe.flags(), now),
                Some(Op::Send) => self.on_send(key, cqe.result(), now),
                Some(Op::Read) => self.on_read(key, cqe.result()),
                Some(Op::Connect) => self.on_connect(key, cqe.result()),
                // Whether the cancel found its connect or not, the connect's own completion says
                // how it ended.
                Some(Op::Shutdown) => self.on_shutdown(key),
                Some(Op::Cancel) | Some(Op::Close) | None => {}
            }
        }
        if returned {
            self.bufs.publish();
        }
        n
    }
}
