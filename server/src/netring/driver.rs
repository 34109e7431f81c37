//! [`NetDriver`]: the event loop of one shard's net ring.
//!
//! Each turn: reap completions (accepts, received bytes, finished sends), hand complete lines to
//! the engine, let the handler tasks it spawned run, then turn every dirty outbox into one send per
//! connection and submit everything with a single `io_uring_enter`. When a turn finds nothing to do
//! the loop sleeps on the ring's eventfd, read through glommio, so timers and channels keep running.

use super::bufring::BufRing;
use super::tls::TlsLayer;
use crate::http::{HttpConn, HttpService};
use crate::metrics::ShardMetrics;
use crate::service::{ConnRef, McpService, Outbox, Outlet, Session};
use glommio::io::BufferedFile;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use ringmcp_proto::framing::NdjsonCodec;
use rustls::ServerConfig;
use slab::Slab;
use std::cell::Cell;
use std::io;
use std::os::fd::{FromRawFd, RawFd};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `IORING_ENTER_GETEVENTS`: with DEFER_TASKRUN, completions are only posted when we ask.
const IORING_ENTER_GETEVENTS: u32 = 1;

/// Send buffers larger than this are freed once sent.
const RETAINED_SEND_BUFFER: usize = 16 * 1024;

const OP_ACCEPT: u64 = 1;
const OP_RECV: u64 = 2;
const OP_SEND: u64 = 3;
const OP_READ: u64 = 4;

fn user_data(op: u64, key: usize) -> u64 {
    (op << 56) | key as u64
}

fn split(user_data: u64) -> (u64, usize) {
    (user_data >> 56, (user_data & 0xffff_ffff) as usize)
}

/// Where a shard's connections come from.
pub enum Source {
    /// Listening sockets (already bound and listening) to accept from, with what they speak.
    Listeners(Vec<(RawFd, Wire)>),
    /// One session on a pair of pipes or files (stdin, stdout).
    Stdio {
        /// Read side.
        input: RawFd,
        /// Write side.
        output: RawFd,
    },
}

/// What a listener's connections speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// Newline-delimited JSON-RPC, one legacy session per connection.
    Lines,
    /// HTTP/1.1: Streamable HTTP and the 2024-11-05 HTTP+SSE endpoints.
    Http,
}

/// The protocol state of one connection.
enum Proto {
    Lines {
        session: Rc<Session>,
        /// The connection's outbox, as the session's outlet.
        outlet: Rc<dyn Outlet>,
        codec: NdjsonCodec,
    },
    Http(Box<HttpConn>),
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
    /// Connections this shard holds at most; more are closed on accept.
    pub max_connections: usize,
    /// Bytes queued for one connection before it is dropped as a slow reader.
    pub max_queued_bytes: usize,
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
}

impl Default for DriverConfig {
    fn default() -> Self {
        DriverConfig {
            ring_entries: 1024,
            cq_entries: 16384,
            recv_buffers: 512,
            recv_buffer_size: 4096,
            max_connections: 200_000,
            max_queued_bytes: 16 << 20,
            shutdown_grace: Duration::from_secs(5),
            accept_backoff: Duration::from_millis(100),
            http_request_timeout: Duration::from_secs(10),
            http_idle_timeout: Duration::from_secs(300),
            tls: None,
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

enum Kind {
    Socket,
    Pipe { output: RawFd, read_buf: Box<[u8]> },
}

struct Conn {
    fd: RawFd,
    kind: Kind,
    gen: u32,
    proto: Proto,
    /// The TLS record layer, when the listener speaks TLS.
    tls: Option<Box<TlsLayer>>,
    /// Close once everything queued has been sent (after a TLS alert).
    close_after_send: bool,
    /// Bytes waiting for this connection.
    outbox: Rc<Outbox>,
    sending: Vec<u8>,
    sent: usize,
    send_inflight: bool,
    recv_armed: bool,
    /// Operations in flight (recv + send); the fd is closed only when this is zero.
    ops: u32,
    /// Peer finished sending (EOF): answer what is in flight, then close.
    eof: bool,
    eof_at: Option<Instant>,
    closing: bool,
    /// Last byte received (HTTP idle timeout).
    last_active: Instant,
}

struct Listener {
    fd: RawFd,
    wire: Wire,
    armed: bool,
    resume_at: Option<Instant>,
}

/// The net loop of one shard.
pub struct NetDriver {
    // Dropped before `bufs`: the kernel must let go of the buffer ring before it is unmapped.
    ring: IoUring,
    bufs: BufRing,
    wake_fd: RawFd,
    conns: Slab<Conn>,
    next_gen: u32,
    listeners: Vec<Listener>,
    service: Rc<McpService>,
    http: Option<Rc<HttpService>>,
    cfg: DriverConfig,
    stop: Arc<AtomicBool>,
    stopping_since: Option<Instant>,
    stdio: bool,
    dirty: Vec<ConnRef>,
    closed: Vec<usize>,
    /// Connections finishing (EOF seen, or shutdown): slab key and generation.
    draining: Vec<(usize, u32)>,
    next_sweep: Instant,
    tick_armed: Rc<Cell<bool>>,
    /// Per-shard TLS configurations (own session cache each): line listeners, HTTP listeners.
    tls_lines: Option<Arc<ServerConfig>>,
    tls_http: Option<Arc<ServerConfig>>,
    /// TLS connections still handshaking: slab key, generation, deadline.
    handshakes: Vec<(usize, u32, Instant)>,
    /// Plaintext taken from an outbox on its way into a TLS layer.
    seal_buf: Vec<u8>,
}

impl NetDriver {
    /// Build the ring for one shard. Must run on the shard's own thread (the ring is single-issuer).
    pub fn new(
        service: Rc<McpService>,
        http: Option<Rc<HttpService>>,
        source: Source,
        wake_fd: RawFd,
        stop: Arc<AtomicBool>,
        cfg: DriverConfig,
    ) -> io::Result<Self> {
        let ring = IoUring::builder()
            .setup_single_issuer()
            .setup_defer_taskrun()
            .setup_cqsize(cfg.cq_entries.max(cfg.ring_entries))
            .setup_clamp()
            .build(cfg.ring_entries)?;
        ring.submitter().register_eventfd(wake_fd)?;
        // SAFETY: `ring` is declared before `bufs` in `NetDriver`, so it is dropped first.
        let bufs = unsafe { BufRing::new(&ring, cfg.recv_buffers, cfg.recv_buffer_size, 0)? };
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
            wake_fd,
            conns: Slab::new(),
            next_gen: 0,
            listeners: Vec::new(),
            service,
            http,
            cfg,
            stop,
            stopping_since: None,
            stdio: false,
            dirty: Vec::new(),
            closed: Vec::new(),
            draining: Vec::new(),
            next_sweep: Instant::now(),
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
                    .map(|(fd, wire)| Listener {
                        fd,
                        wire,
                        armed: false,
                        resume_at: None,
                    })
                    .collect();
                for i in 0..driver.listeners.len() {
                    driver.arm_accept(i);
                }
            }
            Source::Stdio { input, output } => {
                driver.stdio = true;
                let kind = Kind::Pipe {
                    output,
                    read_buf: vec![0u8; 64 * 1024].into_boxed_slice(),
                };
                let key = driver.open_conn(input, kind, Wire::Lines);
                driver.arm_read(key);
            }
        }
        Ok(driver)
    }

    fn push(&mut self, sqe: squeue::Entry) {
        // SAFETY: every SQE built here points at memory owned by `self` (connection buffers, the
        // buffer ring) that stays put until its completion is reaped.
        unsafe {
            while self.ring.submission().push(&sqe).is_err() {
                if let Err(e) = self.ring.submit() {
                    tracing::error!(error = %e, "io_uring submit failed");
                    return;
                }
            }
        }
    }

    fn arm_accept(&mut self, idx: usize) {
        let l = &mut self.listeners[idx];
        if l.armed {
            return;
        }
        l.armed = true;
        let sqe = opcode::AcceptMulti::new(types::Fd(l.fd))
            .flags(libc::SOCK_CLOEXEC)
            .build()
            .user_data(user_data(OP_ACCEPT, idx));
        self.push(sqe);
    }

    fn arm_recv(&mut self, key: usize) {
        let group = self.bufs.group();
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.recv_armed || c.closing || c.eof {
            return;
        }
        c.recv_armed = true;
        c.ops += 1;
        let sqe = opcode::RecvMulti::new(types::Fd(c.fd), group)
            .build()
            .user_data(user_data(OP_RECV, key));
        self.push(sqe);
    }

    fn arm_read(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.recv_armed || c.closing || c.eof {
            return;
        }
        let Kind::Pipe { read_buf, .. } = &mut c.kind else {
            return;
        };
        c.recv_armed = true;
        c.ops += 1;
        let sqe = opcode::Read::new(
            types::Fd(c.fd),
            read_buf.as_mut_ptr(),
            read_buf.len() as u32,
        )
        .offset(u64::MAX)
        .build()
        .user_data(user_data(OP_READ, key));
        self.push(sqe);
    }

    fn open_conn(&mut self, fd: RawFd, kind: Kind, wire: Wire) -> usize {
        ShardMetrics::add(&self.service.shard().metrics.open, 1);
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        self.next_gen = self.next_gen.wrapping_add(1);
        let gen = self.next_gen;
        let conn_ref = ConnRef {
            key: key as u32,
            gen,
        };
        let outbox = Rc::new(Outbox::new(
            conn_ref,
            self.service.shard().signal.clone(),
            self.cfg.max_queued_bytes,
        ));
        let proto = match (wire, &self.http) {
            (Wire::Http, Some(http)) => {
                Proto::Http(Box::new(HttpConn::new(http.limits(), peer_ip(fd))))
            }
            _ => {
                let outlet: Rc<dyn Outlet> = outbox.clone();
                Proto::Lines {
                    session: Rc::new(Session::new(Some(outlet.clone()))),
                    outlet,
                    codec: NdjsonCodec::new(self.service.max_message_bytes()),
                }
            }
        };
        entry.insert(Conn {
            fd,
            kind,
            gen,
            proto,
            tls: None,
            close_after_send: false,
            outbox,
            sending: Vec::new(),
            sent: 0,
            send_inflight: false,
            recv_armed: false,
            ops: 0,
            eof: false,
            eof_at: None,
            closing: false,
            last_active: Instant::now(),
        });
        key
    }

    /// Stop reading, cancel the session's requests, and close once no operation is in flight.
    fn close_conn(&mut self, key: usize, why: &str) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if !c.closing {
            tracing::debug!(key, reason = why, "closing connection");
            c.closing = true;
            c.outbox.close();
            match &mut c.proto {
                Proto::Lines { session, .. } => session.close(),
                Proto::Http(h) => h.close(),
            }
            if matches!(c.kind, Kind::Socket) {
                // Ends the multishot recv and any pending send, so `ops` drains to zero.
                // SAFETY: plain syscall on an fd we own.
                unsafe { libc::shutdown(c.fd, libc::SHUT_RDWR) };
            }
        }
        if c.ops == 0 {
            let c = self.conns.remove(key);
            let open = &self.service.shard().metrics.open;
            open.set(open.get().saturating_sub(1));
            if !matches!(c.kind, Kind::Pipe { .. }) {
                // SAFETY: closing an fd we own, once, with no operation in flight on it.
                unsafe { libc::close(c.fd) };
            }
        }
    }

    /// Run until stopped (signal) or, for stdio, until the input ends.
    pub async fn run(mut self) -> io::Result<()> {
        // SAFETY: dup gives glommio its own fd to own and close.
        let dup = unsafe { libc::dup(self.wake_fd) };
        if dup < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `dup` is a fresh fd that nothing else owns.
        let wake = unsafe { BufferedFile::from_raw_fd(dup) };
        let signal = self.service.shard().signal.clone();
        loop {
            let reaped = self.reap();
            if reaped > 0 {
                // Let the handler tasks spawned for these frames run before flushing.
                futures_lite::future::yield_now().await;
            }
            let flushed = self.flush();
            self.maintain();
            if self.finished() {
                break;
            }
            self.enter()?;
            if reaped == 0 && flushed == 0 && !signal.has_dirty() {
                signal.set_sleeping(true);
                self.enter()?;
                if self.ring.completion().is_empty()
                    && !signal.has_dirty()
                    && !self.stop_requested()
                {
                    if let Err(e) = wake.read_at(0, 8).await {
                        tracing::warn!(error = %e, "eventfd read failed");
                    }
                }
                signal.set_sleeping(false);
            } else {
                glommio::yield_if_needed().await;
            }
        }
        let _ = wake.close().await;
        Ok(())
    }

    fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Submit queued SQEs and let the kernel post completions (needed with DEFER_TASKRUN).
    fn enter(&mut self) -> io::Result<()> {
        let to_submit = self.ring.submission().len() as u32;
        // SAFETY: no timeout argument; GETEVENTS with min_complete 0 does not block.
        match unsafe {
            self.ring.submitter().enter::<libc::sigset_t>(
                to_submit,
                0,
                IORING_ENTER_GETEVENTS,
                None,
            )
        } {
            Ok(_) => Ok(()),
            Err(e)
                if e.raw_os_error() == Some(libc::EINTR)
                    || e.raw_os_error() == Some(libc::EBUSY) =>
            {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn reap(&mut self) -> usize {
        let mut n = 0;
        let mut returned = false;
        // One clock read per turn, not per completion: idle timeouts have second granularity.
        let now = Instant::now();
        loop {
            let cqe = match self.ring.completion().next() {
                Some(c) => c,
                None => break,
            };
            n += 1;
            let (op, key) = split(cqe.user_data());
            match op {
                OP_ACCEPT => self.on_accept(key, cqe.result(), cqe.flags()),
                OP_RECV => returned |= self.on_recv(key, cqe.result(), cqe.flags(), now),
                OP_SEND => self.on_send(key, cqe.result()),
                OP_READ => self.on_read(key, cqe.result()),
                _ => {}
            }
        }
        if returned {
            self.bufs.publish();
        }
        n
    }

    fn on_accept(&mut self, idx: usize, res: i32, flags: u32) {
        let more = cqueue::more(flags);
        if !more {
            if let Some(l) = self.listeners.get_mut(idx) {
                l.armed = false;
            }
        }
        let gone = !self.accept_one(idx, res);
        // The kernel also ends a multishot accept for reasons of its own (a completion queue
        // that overflowed during a big fan-out, say): keep listening unless the listener is
        // backing off, gone, or the shard is stopping. Left disarmed, the shard would never
        // accept again while its backlog filled.
        let backing_off = self
            .listeners
            .get(idx)
            .is_some_and(|l| l.resume_at.is_some());
        if !more && !gone && !backing_off && !self.stop_requested() {
            if res >= 0 {
                tracing::debug!(listener = idx, "multishot accept ended; re-arming");
            }
            self.arm_accept(idx);
        }
    }

    /// Take one accept completion: a new connection, or an error to back off from. False when
    /// the listener itself is gone (closed or cancelled).
    fn accept_one(&mut self, idx: usize, res: i32) -> bool {
        if res < 0 {
            let err = io::Error::from_raw_os_error(-res);
            match -res {
                libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM => {
                    tracing::warn!(error = %err, "accept failed; backing off");
                    if let Some(l) = self.listeners.get_mut(idx) {
                        l.resume_at = Some(Instant::now() + self.cfg.accept_backoff);
                    }
                    let signal = self.service.shard().signal.clone();
                    let backoff = self.cfg.accept_backoff;
                    glommio::spawn_local(async move {
                        glommio::timer::sleep(backoff).await;
                        signal.ring();
                    })
                    .detach();
                }
                libc::ECANCELED | libc::EBADF | libc::EINVAL => return false,
                _ => tracing::debug!(error = %err, "accept error"),
            }
            return true;
        }
        let fd = res;
        if self.stop_requested() || self.conns.len() >= self.cfg.max_connections {
            tracing::warn!(
                limit = self.cfg.max_connections,
                "connection refused: shard at its connection limit"
            );
            // SAFETY: fd was just accepted and is ours.
            unsafe { libc::close(fd) };
            return true;
        }
        let one: libc::c_int = 1;
        // SAFETY: setsockopt with a valid int option on our fd.
        unsafe {
            libc::setsockopt(
                fd,
                libc::IPPROTO_TCP,
                libc::TCP_NODELAY,
                (&one as *const libc::c_int).cast(),
                4,
            );
        }
        let wire = self.listeners.get(idx).map_or(Wire::Lines, |l| l.wire);
        let metrics = &self.service.shard().metrics;
        ShardMetrics::add(&metrics.accepted, 1);
        let key = self.open_conn(fd, Kind::Socket, wire);
        let tls = match wire {
            Wire::Lines => self.tls_lines.clone(),
            Wire::Http => self.tls_http.clone(),
        };
        if let Some(config) = tls {
            match TlsLayer::new(config) {
                Ok(layer) => {
                    if let Some(c) = self.conns.get_mut(key) {
                        c.tls = Some(Box::new(layer));
                        let deadline = Instant::now() + self.cfg.tls_handshake_timeout;
                        self.handshakes.push((key, c.gen, deadline));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS session could not start");
                    self.close_conn(key, "TLS setup failed");
                    return true;
                }
            }
        }
        self.arm_recv(key);
        true
    }

    /// Returns whether a buffer went back to the ring.
    fn on_recv(&mut self, key: usize, res: i32, flags: u32, now: Instant) -> bool {
        let more = cqueue::more(flags);
        let bid = cqueue::buffer_select(flags);
        let Some(c) = self.conns.get_mut(key) else {
            if let Some(bid) = bid {
                self.bufs.push(bid);
                return true;
            }
            return false;
        };
        if !more {
            c.recv_armed = false;
            c.ops -= 1;
        }
        if res > 0 {
            if let Some(bid) = bid {
                if !c.closing {
                    c.last_active = now;
                    ShardMetrics::add(&self.service.shard().metrics.bytes_in, res as u64);
                    let data = self.bufs.get(bid, res as usize);
                    match &mut c.tls {
                        None => feed(
                            &mut c.proto,
                            data,
                            &self.service,
                            self.http.as_ref(),
                            &c.outbox,
                        ),
                        Some(tls) => {
                            let (proto, outbox) = (&mut c.proto, &c.outbox);
                            let (service, http) = (&self.service, self.http.as_ref());
                            match tls.open(data, |plain| feed(proto, plain, service, http, outbox))
                            {
                                Ok(opened) => {
                                    if opened.peer_closed && !c.eof {
                                        c.eof = true;
                                        c.eof_at = Some(Instant::now());
                                        self.draining.push((key, c.gen));
                                    }
                                    if opened.wants_write {
                                        self.dirty.push(ConnRef {
                                            key: key as u32,
                                            gen: c.gen,
                                        });
                                    }
                                }
                                Err(e) => {
                                    tracing::debug!(key, error = %e, "closing connection");
                                    // The alert rustls queued goes out before the close.
                                    c.close_after_send = true;
                                    c.outbox.close();
                                    self.dirty.push(ConnRef {
                                        key: key as u32,
                                        gen: c.gen,
                                    });
                                }
                            }
                        }
                    }
                }
                self.bufs.push(bid);
            }
            if !more {
                self.arm_recv(key);
            }
            return bid.is_some();
        }
        if res == 0 {
            c.eof = true;
            c.eof_at = Some(Instant::now());
            self.draining.push((key, c.gen));
        } else if -res == libc::ENOBUFS {
            tracing::debug!("recv buffers exhausted; re-arming");
            if !more {
                self.arm_recv(key);
            }
        } else if !c.closing {
            let err = io::Error::from_raw_os_error(-res);
            tracing::debug!(error = %err, "recv error");
            self.close_conn(key, "recv error");
            return false;
        }
        if let Some(c) = self.conns.get(key) {
            if c.closing {
                self.close_conn(key, "closed");
            }
        }
        bid.is_some_and(|bid| {
            self.bufs.push(bid);
            true
        })
    }

    fn on_read(&mut self, key: usize, res: i32) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        c.recv_armed = false;
        c.ops -= 1;
        if res > 0 {
            if let Kind::Pipe { read_buf, .. } = &c.kind {
                if !c.closing {
                    feed(
                        &mut c.proto,
                        &read_buf[..res as usize],
                        &self.service,
                        self.http.as_ref(),
                        &c.outbox,
                    );
                }
            }
            self.arm_read(key);
        } else if res == 0 || -res != libc::EINTR {
            if res < 0 {
                tracing::debug!(error = %io::Error::from_raw_os_error(-res), "stdin read error");
            }
            c.eof = true;
            c.eof_at = Some(Instant::now());
            self.draining.push((key, c.gen));
        } else {
            self.arm_read(key);
        }
    }

    fn on_send(&mut self, key: usize, res: i32) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        c.ops -= 1;
        c.send_inflight = false;
        if res < 0 {
            if -res == libc::EINTR || -res == libc::EAGAIN {
                self.start_send(key);
                return;
            }
            tracing::debug!(error = %io::Error::from_raw_os_error(-res), "send error");
            self.close_conn(key, "send error");
            return;
        }
        c.sent += res as usize;
        ShardMetrics::add(&self.service.shard().metrics.bytes_out, res as u64);
        if c.sent >= c.sending.len() {
            c.sending.clear();
            c.sent = 0;
            // An idle connection should not keep the buffer of its largest response.
            if c.sending.capacity() > RETAINED_SEND_BUFFER {
                c.sending = Vec::new();
            }
            // Anything queued while this send was in flight goes next.
            fill_sending(c, &mut self.seal_buf);
        }
        if c.closing {
            self.close_conn(key, "closed");
        } else {
            self.start_send(key);
            self.close_if_finished(key);
        }
    }

    /// An HTTP connection that must close (error, `Connection: close`) does so once its last
    /// response has left.
    fn close_if_finished(&mut self, key: usize) {
        let Some(c) = self.conns.get(key) else { return };
        let flushed = !c.send_inflight && c.sent >= c.sending.len();
        if flushed && c.close_after_send {
            self.close_conn(key, "alert sent");
        } else if flushed && matches!(&c.proto, Proto::Http(h) if h.close_after()) {
            self.close_conn(key, "response sent; connection: close");
        }
    }

    fn start_send(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.send_inflight || c.sent >= c.sending.len() || c.closing {
            return;
        }
        let ptr = c.sending[c.sent..].as_ptr();
        let len = (c.sending.len() - c.sent).min(u32::MAX as usize) as u32;
        let sqe = match &c.kind {
            Kind::Socket => opcode::Send::new(types::Fd(c.fd), ptr, len)
                .flags(libc::MSG_NOSIGNAL)
                .build(),
            Kind::Pipe { output, .. } => opcode::Write::new(types::Fd(*output), ptr, len)
                .offset(u64::MAX)
                .build(),
        };
        c.send_inflight = true;
        c.ops += 1;
        self.push(sqe.user_data(user_data(OP_SEND, key)));
    }

    /// Move every dirty outbox into its connection's send buffer and start the sends.
    fn flush(&mut self) -> usize {
        let signal = self.service.shard().signal.clone();
        let mut dirty = std::mem::take(&mut self.dirty);
        signal.take_dirty(&mut dirty);
        let n = dirty.len();
        for conn in dirty.drain(..) {
            let key = conn.key as usize;
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            if c.gen != conn.gen {
                continue;
            }
            if c.outbox.overflowed() && !c.close_after_send {
                tracing::warn!(
                    key,
                    limit = self.cfg.max_queued_bytes,
                    "dropping connection: peer does not read its responses"
                );
                self.close_conn(key, "output limit");
                continue;
            }
            // An HTTP exchange may have finished: serve the next pipelined request.
            if let (Proto::Http(h), Some(http)) = (&mut c.proto, &self.http) {
                h.pump(http, &c.outbox);
            }
            if !c.send_inflight {
                fill_sending(c, &mut self.seal_buf);
                self.start_send(key);
                self.close_if_finished(key);
            }
        }
        self.dirty = dirty;
        n
    }

    /// Listener back-off, EOF and shutdown bookkeeping. Touches only connections that are
    /// draining (EOF seen) unless the shard is stopping, so idle connections cost nothing here.
    fn maintain(&mut self) {
        let now = Instant::now();
        if (self.http.is_some() || !self.handshakes.is_empty()) && now >= self.next_sweep {
            self.next_sweep = now + Duration::from_secs(1);
            self.sweep_http(now);
            self.sweep_handshakes(now);
            let signal = self.service.shard().signal.clone();
            glommio::spawn_local(async move {
                glommio::timer::sleep(Duration::from_secs(1)).await;
                signal.ring();
            })
            .detach();
        }
        for i in 0..self.listeners.len() {
            if let Some(t) = self.listeners[i].resume_at {
                if now >= t && !self.stop_requested() {
                    self.listeners[i].resume_at = None;
                    self.arm_accept(i);
                }
            }
        }
        if self.stop_requested() && self.stopping_since.is_none() {
            tracing::info!(
                shard = self.service.shard().id,
                "stopping: no new connections; finishing requests in flight"
            );
            self.stopping_since = Some(now);
            self.service.shard().stopping.set(true);
            for l in self.listeners.drain(..) {
                // SAFETY: closing our listening fd; a multishot accept on it completes with an error.
                unsafe { libc::close(l.fd) };
            }
            self.draining = self.conns.iter().map(|(k, c)| (k, c.gen)).collect();
        }
        if self.draining.is_empty() {
            return;
        }
        let grace = self.cfg.shutdown_grace;
        let stopping = self.stopping_since;
        let mut draining = std::mem::take(&mut self.draining);
        draining.retain(|&(key, gen)| {
            let Some(c) = self.conns.get(key) else {
                return false;
            };
            // The slot may hold a newer connection by now.
            if c.gen != gen || c.closing {
                return false;
            }
            let busy = match &c.proto {
                Proto::Lines { session, .. } => session.inflight() > 0,
                // A peer that closed while a stream is open wants nothing more from it.
                Proto::Http(h) => !(h.idle() || c.eof && h.streaming()),
            };
            let idle = !busy && !c.send_inflight && c.sent >= c.sending.len();
            let expired = c
                .eof_at
                .or(stopping)
                .is_some_and(|t| now.duration_since(t) >= grace);
            if idle || expired {
                self.closed.push(key);
                return false;
            }
            true
        });
        self.draining = draining;
        for key in std::mem::take(&mut self.closed) {
            self.close_conn(key, "finished");
        }
        if !self.draining.is_empty() && !self.tick_armed.replace(true) {
            // Come back to re-check deadlines even if nothing else happens.
            let signal = self.service.shard().signal.clone();
            let armed = self.tick_armed.clone();
            glommio::spawn_local(async move {
                glommio::timer::sleep(Duration::from_millis(20)).await;
                armed.set(false);
                signal.ring();
            })
            .detach();
        }
    }

    /// Slow and idle HTTP connections: a request still incomplete after the request timeout gets
    /// 408 and the connection closes; a connection with nothing in flight and no byte for the idle
    /// timeout is closed. Runs once a second; touches every HTTP connection of the shard.
    fn sweep_http(&mut self, now: Instant) {
        let (request_timeout, idle_timeout) =
            (self.cfg.http_request_timeout, self.cfg.http_idle_timeout);
        let mut idle = Vec::new();
        for (key, c) in self.conns.iter_mut() {
            let Proto::Http(h) = &mut c.proto else {
                continue;
            };
            if c.closing || c.send_inflight || c.sent < c.sending.len() {
                continue;
            }
            if h.partial_since()
                .is_some_and(|t| now.duration_since(t) >= request_timeout)
            {
                tracing::debug!(key, "HTTP request not completed in time: 408");
                h.refuse_slow(&c.outbox);
            } else if h.idle()
                && h.partial_since().is_none()
                && now.duration_since(c.last_active) >= idle_timeout
            {
                idle.push(key);
            }
        }
        for key in idle {
            self.close_conn(key, "idle HTTP connection");
        }
    }

    /// TLS handshakes not finished by their deadline are dropped; finished ones leave the list.
    fn sweep_handshakes(&mut self, now: Instant) {
        let mut late = Vec::new();
        self.handshakes.retain(|&(key, gen, deadline)| {
            let Some(c) = self.conns.get(key) else {
                return false;
            };
            if c.gen != gen || c.closing || !c.tls.as_ref().is_some_and(|t| t.handshaking()) {
                return false;
            }
            if now >= deadline {
                late.push(key);
                return false;
            }
            true
        });
        for key in late {
            tracing::debug!(key, "TLS handshake not finished in time");
            self.close_conn(key, "TLS handshake timeout");
        }
    }

    fn finished(&self) -> bool {
        if self.stdio {
            return self.conns.is_empty();
        }
        self.stopping_since.is_some() && self.conns.is_empty()
    }
}

/// Move what the outbox holds into the send buffer, through the TLS layer when there is one.
fn fill_sending(c: &mut Conn, seal_buf: &mut Vec<u8>) {
    let Some(tls) = &mut c.tls else {
        c.outbox.take(&mut c.sending);
        return;
    };
    seal_buf.clear();
    c.outbox.take(seal_buf);
    if let Err(e) = tls.seal_into(seal_buf, &mut c.sending) {
        tracing::debug!(error = %e, "TLS write failed");
        c.close_after_send = true;
    }
    if seal_buf.capacity() > RETAINED_SEND_BUFFER {
        *seal_buf = Vec::new();
    }
}

/// Hand received bytes to the connection's protocol.
fn feed(
    proto: &mut Proto,
    data: &[u8],
    service: &Rc<McpService>,
    http: Option<&Rc<HttpService>>,
    outbox: &Rc<Outbox>,
) {
    match proto {
        Proto::Lines {
            session,
            outlet,
            codec,
        } => codec.decode(data, |frame| service.on_frame(session, outlet, frame)),
        Proto::Http(h) => {
            if let Some(http) = http {
                h.on_bytes(data, http, outbox);
            }
        }
    }
}

/// The address of the peer of a connected socket.
fn peer_ip(fd: RawFd) -> Option<std::net::IpAddr> {
    // SAFETY: getpeername fills a sockaddr_storage we own, of the size we pass.
    unsafe {
        let mut addr: libc::sockaddr_storage = std::mem::zeroed();
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        if libc::getpeername(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        ) != 0
        {
            return None;
        }
        match i32::from(addr.ss_family) {
            libc::AF_INET => {
                let a = &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>();
                Some(std::net::IpAddr::from(
                    u32::from_be(a.sin_addr.s_addr).to_be_bytes(),
                ))
            }
            libc::AF_INET6 => {
                let a = &*(&addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>();
                Some(std::net::IpAddr::from(a.sin6_addr.s6_addr))
            }
            _ => None,
        }
    }
}
